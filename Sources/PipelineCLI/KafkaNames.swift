/// Topic and group names from flags or the environment, checked before they
/// reach librdkafka, a log line or a query parameter: Kafka's own rule for
/// topics (1 to 249 of `a-z A-Z 0-9 . _ -`, not `.` or `..`). Group ids may be
/// any string to Kafka; the same rule keeps them printable and shell-safe.
enum KafkaNames {
    static let maxLength = 249

    /// The name unchanged, or a ConfigurationError (exit 64) saying what is wrong and where it came from.
    static func validated(_ name: String, kind: String, source: String) throws -> String {
        let legal = name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        let problem: String? =
            if name.isEmpty { "is empty" } else if name.utf8.count > maxLength {
                "is \(name.utf8.count) bytes long, over Kafka's limit of \(maxLength)"
            } else if !legal {
                "has characters Kafka does not allow"
            } else if name == "." || name == ".." { "is '\(name)', which Kafka reserves" } else { nil }
        guard let problem else { return name }
        throw ConfigurationError(
            code: .malformed, setting: source, shownValue: SettingText.shown(name),
            detail: "invalid \(kind) name: it \(problem)",
            remedy: "1 to \(maxLength) characters from a-z, A-Z, 0-9, '.', '_' and '-'")
    }
}
