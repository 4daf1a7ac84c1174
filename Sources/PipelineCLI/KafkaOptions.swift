import ArgumentParser
import Foundation

/// --brokers, --topic and --kafka-property, shared by every command that talks to Kafka.
struct KafkaOptions: ParsableArguments {
    @Option(
        name: .customLong("brokers"),
        help: Settings.brokers.help(
            "Kafka bootstrap servers; without it, the file `pipeline dev-kafka` writes, .data/kafka.bootstrap",
            valueName: "LIST"))
    var brokersFlag: String?

    @Option(
        name: .customLong("topic"),
        help: ArgumentHelp("The events topic (env: PIPELINE_TOPIC; default: events).", valueName: "NAME"))
    var topicFlag: String?

    @Option(
        name: .customLong("kafka-property"),
        help: ArgumentHelp(
            "A librdkafka property passed through, e.g. security.protocol=SASL_SSL; repeatable (env: PIPELINE_KAFKA_PROPERTIES, comma-separated).",
            valueName: "KEY=VALUE"))
    var propertyFlags: [String] = []

    static let bootstrapFile = ".data/kafka.bootstrap"
    static let propertiesVariable = "PIPELINE_KAFKA_PROPERTIES"
    /// librdkafka's own values (certificates inline, JAAS lines) stay well under this.
    static let maxPropertyBytes = 16_384

    func brokers() throws -> String {
        if let brokers = try Settings.brokers.resolveOptional(brokersFlag) { return brokers }
        if let file = try? String(contentsOfFile: Self.bootstrapFile, encoding: .utf8) {
            let trimmed = file.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { return try Settings.brokers.parse(trimmed, from: Self.bootstrapFile) }
        }
        throw ValidationError(
            "no Kafka brokers given: pass --brokers host:port, set PIPELINE_BROKERS, or start `pipeline dev-kafka` (it writes \(Self.bootstrapFile))"
        )
    }

    /// The topic, checked against Kafka's naming rule.
    func topic() throws -> String { try Settings.topic.resolve(topicFlag) }

    /// KEY=VALUE pairs. A value may be a password (sasl.password, ssl.key.password), so an
    /// error shows the key only.
    func properties() throws -> [String: String] {
        let fromEnvironment = (Environment.value(Self.propertiesVariable)?.split(separator: ",") ?? []).map {
            (String($0), Self.propertiesVariable)
        }
        var properties: [String: String] = [:]
        for (pair, source) in fromEnvironment + propertyFlags.map({ ($0, "--kafka-property") }) {
            let key = String(pair.prefix { $0 != "=" })
            func refuse(_ code: ConfigurationError.Code, _ detail: String? = nil) -> ConfigurationError {
                ConfigurationError(
                    code: code, setting: source, shownValue: key.isEmpty ? nil : SettingText.shown(key) + "=…",
                    detail: detail,
                    remedy: "KEY=VALUE, a librdkafka property, at most \(Self.maxPropertyBytes) bytes")
            }
            guard !key.isEmpty, key.count < pair.count else { throw refuse(.malformed, "no KEY=VALUE") }
            guard pair.utf8.count <= Self.maxPropertyBytes else { throw refuse(.tooLong, "\(pair.utf8.count) bytes") }
            guard !pair.unicodeScalars.contains(where: SettingText.isControl) else { throw refuse(.controlCharacter) }
            properties[key] = String(pair.dropFirst(key.count + 1))
        }
        return properties
    }
}
