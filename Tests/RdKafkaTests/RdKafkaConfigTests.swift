import RdKafka
import Testing

extension RdKafkaTests {
    @Suite struct Config {
        @Test func unknownPropertyThrowsNamingIt() throws {
            let config = RDKafkaConfig(["bootstrap.servers": "localhost:1", "no.such.property": "1"])
            let error = try #require(throws: KafkaError.self) {
                try RDKafkaProducer(config: config)
            }
            #expect(error.code == .invalidArgument)
            #expect(error.property == "no.such.property")
            #expect(error.message.contains("no.such.property"))
            #expect(error.remedy?.contains("--kafka-property") == true)
            #expect(!error.isRetriable)
        }

        @Test func invalidValueIsNamedButNotEchoed() throws {
            let secret = "hunter2-not-a-number"
            let config = RDKafkaConfig(["group.id": "g", "session.timeout.ms": secret])
            let error = try #require(throws: KafkaError.self) {
                try RDKafkaConsumer(config: config, rebalanceHandler: nil)
            }
            #expect(error.property == "session.timeout.ms")
            #expect(error.message.contains("session.timeout.ms"))
            #expect(!error.description.contains(secret))
        }

        @Test func cooperativeProtocolIsRejected() throws {
            let config = RDKafkaConfig([
                "group.id": "g", "partition.assignment.strategy": "cooperative-sticky",
            ])
            let error = try #require(throws: KafkaError.self) {
                try RDKafkaConsumer(config: config, rebalanceHandler: nil)
            }
            #expect(error.property == "partition.assignment.strategy")
            #expect(error.remedy?.contains("range") == true)
        }

        @Test func orderIsKeptAndNilRemoves() {
            var config = RDKafkaConfig(["b": "2", "a": "1"])
            config["c"] = "3"
            config["a"] = "one"
            #expect(config.properties.map(\.key) == ["a", "b", "c"])
            #expect(config["a"] == "one")
            config["b"] = nil
            #expect(config.properties.map(\.key) == ["a", "c"])
            #expect(config["b"] == nil)
        }

        @Test func errorCodesHaveLibrdkafkaNames() {
            #expect(KafkaError.Code.partitionEOF.name == "_PARTITION_EOF")
            #expect(KafkaError.Code.notCoordinator.name == "NOT_COORDINATOR")
            #expect(KafkaError.Code.unknownTopicOrPartition.name == "UNKNOWN_TOPIC_OR_PART")
            let error = KafkaError(code: .allBrokersDown)
            #expect(error.isRetriable)
            #expect(!error.isFatal)
            #expect(error.remedy != nil)
            #expect(error.description.contains("_ALL_BROKERS_DOWN"))
        }
    }
}
