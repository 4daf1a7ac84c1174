import Foundation

/// The CLI's one error type: a flag, variable or connection string that cannot be used.
/// Printed as one line and exit status 64 (EX_USAGE), before anything connects.
struct ConfigurationError: Error, CustomStringConvertible {
    /// What is wrong. Static lets, not an enum, so the list can grow.
    struct Code: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String
        var description: String { rawValue }

        static let empty = Code(rawValue: "is empty")
        static let tooLong = Code(rawValue: "is too long")
        static let controlCharacter = Code(rawValue: "holds a control character")
        static let malformed = Code(rawValue: "is not valid")
        static let outOfRange = Code(rawValue: "is out of range")
        static let conflicting = Code(rawValue: "conflicts with another setting")
    }

    static let exitCode: Int32 = 64

    var code: Code
    /// The flag (`--interval`) or variable (`PIPELINE_INTERVAL`) the value came from.
    var setting: String
    /// The value as it may be printed (`SettingText.shown`), or nil when it may hold a secret.
    var shownValue: String?
    /// Why, in a few words, when the code alone does not say it.
    var detail: String?
    /// What is accepted instead: "a duration from 1ms to 1h".
    var remedy: String

    var description: String {
        var text = setting + (shownValue.map { " " + $0 } ?? "") + " " + code.rawValue
        if let detail { text += " (\(detail))" }
        return text + "; expected " + remedy
    }

    /// One line on stderr.
    func report() {
        FileHandle.standardError.write(Data(("Error: " + description + "\n").utf8))
    }
}
