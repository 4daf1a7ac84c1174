/// How a value from the command line or the environment is printed in an error:
/// short, escaped and quoted, so a 100 KB value or a terminal escape sequence is
/// never written out raw.
enum SettingText {
    static let shownScalars = 40

    /// `'1e300s'`, `'\u{1B}[31m'`, `'9999…' (102400 bytes)`.
    static func shown(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(shownScalars) {
            shown += isPrintableASCII(scalar) ? String(scalar) : scalar.escaped(asASCII: true)
        }
        guard text.unicodeScalars.count > shownScalars else { return "'" + shown + "'" }
        return "'" + shown + "…' (\(text.utf8.count) bytes)"
    }

    static func isPrintableASCII(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x20 && scalar.value < 0x7F }

    /// C0 and C1 controls and DEL: never meant in a setting, and unsafe on a terminal.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
