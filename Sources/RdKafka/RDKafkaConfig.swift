import CRdKafka

/// librdkafka properties as ordered key/value pairs.
///
/// Ordered because librdkafka applies them in order and some properties are aliases of others
/// (`acks` / `request.required.acks`): the last one set wins, as the user wrote them.
/// Nothing is validated here; `rd_kafka_conf_set` is the authority and runs when a client is made,
/// so this module never keeps a second, drifting list of valid names.
public struct RDKafkaConfig: Sendable {
    /// In the order they are applied.
    public private(set) var properties: [(key: String, value: String)]

    /// Sorted by key, so a dictionary gives the same order every run.
    public init(_ properties: [String: String] = [:]) {
        self.properties = properties.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    /// Setting replaces the value in place (keeping its position); setting nil removes the property.
    public subscript(key: String) -> String? {
        get { properties.first { $0.key == key }?.value }
        set {
            let index = properties.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): properties[index].value = value
            case (let index?, nil): properties.remove(at: index)
            case (nil, let value?): properties.append((key: key, value: value))
            case (nil, nil): break
            }
        }
    }

    /// Sets `key` only when the user did not: our defaults never override an explicit choice.
    mutating func setDefault(_ key: String, _ value: String) {
        if self[key] == nil { self[key] = value }
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it (and must destroy it unless `rd_kafka_new`
    /// succeeds with it).
    ///
    /// Errors name the property but never echo its value: librdkafka's own message for a bad value
    /// quotes the value, and the value may be a password, so it is redacted.
    func makeConf() throws(KafkaError) -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .fail, message: "rd_kafka_conf_new returned NULL")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            guard result != RD_KAFKA_CONF_OK else { continue }
            rd_kafka_conf_destroy(conf)
            throw Self.error(
                for: result, key: key, value: value, librdkafkaMessage: String(cCharBuffer: errorBuffer))
        }
        return conf
    }

    static func error(
        for result: rd_kafka_conf_res_t, key: String, value: String, librdkafkaMessage: String
    ) -> KafkaError {
        if result == RD_KAFKA_CONF_UNKNOWN {
            return KafkaError(
                code: .invalidArgument,
                message: "Unknown Kafka configuration property \"\(key)\".",
                isRetriable: false,
                remedy: "Check the --kafka-property spelling against librdkafka's CONFIGURATION.md.",
                property: key)
        }
        return KafkaError(
            code: .invalidArgument,
            message: "Invalid value for Kafka configuration property \"\(key)\": "
                + redacting(value, in: librdkafkaMessage),
            isRetriable: false,
            remedy: "Check the value given for \"\(key)\" with --kafka-property.",
            property: key)
    }

    /// librdkafka writes `Invalid value "<value>" for configuration property "<key>"`; keep its
    /// explanation, drop the value.
    static func redacting(_ value: String, in message: String) -> String {
        guard !value.isEmpty else { return message }
        var redacted = message.replacing("\"\(value)\"", with: "\"<redacted>\"")
        if value.count >= 4 { redacted = redacted.replacing(value, with: "<redacted>") }
        return redacted
    }
}
