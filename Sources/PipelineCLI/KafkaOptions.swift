import ArgumentParser
import Foundation

/// --brokers, --topic and --kafka-property, shared by every command that talks to Kafka.
struct KafkaOptions: ParsableArguments {
    @Option(
        name: .customLong("brokers"),
        help: ArgumentHelp(
            "Kafka bootstrap servers, host:port[,host:port] (env: PIPELINE_BROKERS; default: the file `pipeline dev-kafka` writes, .data/kafka.bootstrap).",
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

    func brokers() throws -> String {
        if let brokersFlag { return brokersFlag }
        if let value = Environment.value("PIPELINE_BROKERS") { return value }
        if let file = try? String(contentsOfFile: Self.bootstrapFile, encoding: .utf8) {
            let trimmed = file.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { return trimmed }
        }
        throw ValidationError(
            "no Kafka brokers given: pass --brokers host:port, set PIPELINE_BROKERS, or start `pipeline dev-kafka` (it writes \(Self.bootstrapFile))"
        )
    }

    /// The topic, checked against Kafka's naming rule.
    func topic() throws -> String {
        if let topicFlag { return try KafkaNames.validated(topicFlag, kind: "topic", source: "--topic") }
        if let value = Environment.value("PIPELINE_TOPIC") {
            return try KafkaNames.validated(value, kind: "topic", source: "PIPELINE_TOPIC")
        }
        return "events"
    }

    func properties() throws -> [String: String] {
        let fromEnvironment =
            Environment.value("PIPELINE_KAFKA_PROPERTIES")?.split(separator: ",").map(String.init) ?? []
        var properties: [String: String] = [:]
        for pair in fromEnvironment + propertyFlags {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--kafka-property needs KEY=VALUE, got '\(pair.prefix(while: { $0 != "=" }))'")
            }
            properties[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return properties
    }
}
