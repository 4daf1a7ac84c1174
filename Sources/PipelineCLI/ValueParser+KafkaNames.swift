/// Topic and group names from flags or the environment, checked before they
/// reach librdkafka, a log line or a query parameter: Kafka's own rule for
/// topics (1 to 249 of `a-z A-Z 0-9 . _ -`, not `.` or `..`). Group ids may be
/// any string to Kafka; the same rule keeps them printable and shell-safe.
extension ValueParser where Value == String {
    static var maxKafkaNameLength: Int { 249 }

    /// The name unchanged; `kind` ("topic", "group") says in the error what it names.
    static func kafkaName(kind: String) -> ValueParser {
        let maxLength = maxKafkaNameLength
        return ValueParser(expected: "1 to \(maxLength) characters from a-z, A-Z, 0-9, '.', '_' and '-'") {
            name throws(ParseFailure) in
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
            throw ParseFailure(code: .malformed, detail: "invalid \(kind) name: it \(problem)")
        }
    }
}
