import Foundation
import RdKafka
import Testing

extension RdKafkaTests {
    @Suite struct Faults {
        @Test func brokerDownAndUpDuringConsumptionLosesNothing() throws {
            let cluster = try RDKafkaMockCluster(brokers: 3)
            let topic = uniqueName("broker-down")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            for partition in Int32(0)..<4 {
                try cluster.setPartitionLeader(
                    topic: topic, partition: partition, broker: partition % 3 + 1)
            }
            let producer = try RDKafkaProducer(config: producerConfig(cluster))
            try produceTestData(producer, topic: topic, indices: 0..<1000, partitions: 4)
            try producer.flush(timeoutMs: 10_000)

            let handler = RecordingHandler()
            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: uniqueName("broker-down")), rebalanceHandler: handler
            )
            try consumer.subscribe(topics: [topic])
            var received: [Received] = []
            var events: [KafkaError.Code] = []
            consumer.collect(into: &received, events: &events) { received, _ in received.count >= 1000 }
            #expect(received.count == 1000)

            // Broker 2 leads partition 1: its new messages wait in the producer until it is back.
            try cluster.setBrokerDown(2)
            try produceTestData(producer, topic: topic, indices: 1000..<2000, partitions: 4)
            consumer.collect(into: &received, events: &events, seconds: 2) { _, _ in false }
            #expect(received.count < 2000)
            try cluster.setBrokerUp(2)
            try producer.flush(timeoutMs: 30_000)
            #expect(producer.deliveredCount == 2000)
            #expect(producer.failedCount == 0)

            // Across a failover a consumer may be handed a record twice (it re-fetches from its
            // position); nothing may be missing. The worker drops such repeats by offset.
            consumer.collect(into: &received, events: &events, seconds: 60) { received, _ in
                Set(received).count >= 2000
            }
            #expect(Set(received) == expectedMessages(count: 2000, partitions: 4))
            #expect(handler.errors.allSatisfy { !$0.isFatal })
        }

        @Test func fetchAndProduceErrorsAreSurvived() throws {
            let cluster = try RDKafkaMockCluster(brokers: 3)
            let topic = uniqueName("request-errors")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)

            cluster.pushRequestErrors(
                .produce, [.notEnoughReplicas, .notLeaderForPartition, .requestTimedOut])
            let producer = try produceTestData(cluster, topic: topic, count: 2000, partitions: 4)
            #expect(producer.deliveredCount == 2000)
            #expect(producer.failedCount == 0)

            cluster.pushRequestErrors(
                .fetch, [.notLeaderForPartition, .unknownTopicOrPartition, .transport, .requestTimedOut])
            let handler = RecordingHandler()
            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: uniqueName("request-errors")),
                rebalanceHandler: handler)
            try consumer.subscribe(topics: [topic])
            // Generous: under a loaded suite the group join plus the retried fetches take a while.
            var received: [Received] = []
            var events: [KafkaError.Code] = []
            consumer.collect(into: &received, events: &events, seconds: 90) { received, _ in
                Set(received).count >= 2000
            }
            #expect(Set(received) == expectedMessages(count: 2000, partitions: 4))
        }

        @Test func allBrokersDownReachesTheHandler() throws {
            let cluster = try RDKafkaMockCluster(brokers: 2)
            let topic = uniqueName("all-down")
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 2)
            let handler = RecordingHandler()
            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: handler)
            try consumer.assign([
                (RDKafkaTopicPartition(topic: topic, partition: 0), offset: RDKafkaOffset.beginning)
            ])
            consumer.poll(maxMessages: 10, timeoutMs: 500) { _ in }
            try cluster.setBrokerDown(-1)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && !handler.errors.contains(where: { $0.code == .allBrokersDown }) {
                consumer.poll(maxMessages: 10, timeoutMs: 100) { _ in }
            }
            #expect(handler.errors.contains { $0.code == .allBrokersDown })
            #expect(handler.errors.allSatisfy { !$0.isFatal && $0.isRetriable })
        }
    }
}
