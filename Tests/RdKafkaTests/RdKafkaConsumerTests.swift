import Foundation
import RdKafka
import Testing

extension RdKafkaTests {
    @Suite struct Consumer {
        @Test func manualAssignWithoutGroup() throws {
            let cluster = try RDKafkaMockCluster(brokers: 3)
            let topic = uniqueName("manual")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            _ = try produceTestData(cluster, topic: topic, count: 1000, partitions: 4)

            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: nil)
            let p1 = RDKafkaTopicPartition(topic: topic, partition: 1)
            let p2 = RDKafkaTopicPartition(topic: topic, partition: 2)
            try consumer.assign([(p1, offset: 200), (p2, offset: RDKafkaOffset.beginning)])
            #expect(Set(try consumer.assignment()) == [p1, p2])

            let expected = expectedMessages(count: 1000, partitions: 4, startOffsets: [1: 200])
                .filter { $0.partition == 1 || $0.partition == 2 }
            let received = consumer.collect(count: expected.count)
            #expect(received.count == expected.count)
            #expect(Set(received) == expected)
            #expect(consumer.memberID == nil)

            try consumer.unassign()
            #expect(try consumer.assignment().isEmpty)
            consumer.close()
        }

        @Test func seekPauseResumeAndPartitionEOF() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("seek")
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
            _ = try produceTestData(cluster, topic: topic, count: 50, partitions: 1)

            var config = consumerConfig(cluster, group: nil)
            config["enable.partition.eof"] = "true"
            let consumer = try RDKafkaConsumer(config: config, rebalanceHandler: nil)
            let partition = RDKafkaTopicPartition(topic: topic, partition: 0)
            try consumer.assign([(partition, offset: RDKafkaOffset.beginning)])

            var received: [Received] = []
            var events: [KafkaError.Code] = []
            consumer.collect(into: &received, events: &events) { _, events in
                events.contains(.partitionEOF)
            }
            #expect(received.map(\.offset) == Array(0..<50))
            #expect(events == [.partitionEOF])

            // Back to offset 40, as after a failed database transaction.
            try consumer.seek(partition, to: 40, timeoutMs: 5000)
            received = []
            events = []
            consumer.collect(into: &received, events: &events) { _, events in
                events.contains(.partitionEOF)
            }
            #expect(received.map(\.offset) == Array(40..<50))

            try consumer.pause([partition])
            try consumer.seek(partition, to: 0, timeoutMs: 5000)
            received = []
            consumer.collect(into: &received, events: &events, seconds: 1) { _, _ in false }
            #expect(received.isEmpty)
            try consumer.resume([partition])
            consumer.collect(into: &received, events: &events) { received, _ in received.count >= 50 }
            #expect(received.map(\.offset) == Array(0..<50))
        }

        @Test func tombstonesKeylessMessagesAndTimestamps() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("shapes")
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
            let producer = try RDKafkaProducer(config: producerConfig(cluster))
            let key = Array("k".utf8)
            let value = Array("v".utf8)
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            try key.withUnsafeBytes { try producer.produce(topic: topic, key: $0, value: nil) }
            try value.withUnsafeBytes { try producer.produce(topic: topic, key: nil, value: $0) }
            try producer.produce(topic: topic, key: nil, value: nil)
            try [UInt8]().withUnsafeBytes { try producer.produce(topic: topic, key: nil, value: $0) }
            try producer.flush(timeoutMs: 10_000)
            #expect(producer.deliveredCount == 4)

            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: nil)
            try consumer.assign([
                (RDKafkaTopicPartition(topic: topic, partition: 0), offset: RDKafkaOffset.beginning)
            ])
            var seen: [(key: [UInt8]?, payload: [UInt8]?, timestamp: Int64?, topic: String)] = []
            let deadline = Date().addingTimeInterval(10)
            while seen.count < 4 && Date() < deadline {
                consumer.poll(maxMessages: 10, timeoutMs: 100) { message in
                    seen.append(
                        (
                            message.key.map { Array($0) }, message.payload.map { Array($0) }, message.timestampMs,
                            message.topicName
                        ))
                }
            }
            try #require(seen.count == 4)
            #expect(seen[0].key == key)
            #expect(seen[0].payload == nil)
            #expect(seen[1].key == nil)
            #expect(seen[1].payload == value)
            #expect(seen[2].key == nil)
            #expect(seen[2].payload == nil)
            // An empty value is not a tombstone: it arrives as an empty, non-nil payload.
            #expect(seen[3].payload == [])
            #expect(seen.allSatisfy { $0.topic == topic })
            #expect(seen.allSatisfy { ($0.timestamp ?? 0) >= before - 1000 })
        }

        @Test func bodyErrorsPropagateAndTheBatchIsReleased() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("throwing")
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
            _ = try produceTestData(cluster, topic: topic, count: 10, partitions: 1)

            struct Stop: Error {}
            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: nil)
            let partition = RDKafkaTopicPartition(topic: topic, partition: 0)
            try consumer.assign([(partition, offset: RDKafkaOffset.beginning)])
            var handed = 0
            let deadline = Date().addingTimeInterval(10)
            var thrown = false
            while !thrown && Date() < deadline {
                do {
                    try consumer.poll(maxMessages: 10, timeoutMs: 200) {
                        (_: RDKafkaMessageView) throws(Stop) in
                        handed += 1
                        if handed == 3 { throw Stop() }
                    }
                } catch {
                    thrown = true
                }
            }
            #expect(thrown)
            #expect(handed == 3)
            // The rest of that batch is gone; a seek brings it back.
            try consumer.seek(partition, to: 3, timeoutMs: 5000)
            #expect(consumer.collect(count: 7).map(\.offset) == Array(3..<10))
        }

        /// With `auto.offset.reset=error`, a start offset outside the log is reported, not silently
        /// replaced: the case of a stored offset that retention has deleted.
        @Test func offsetOutsideTheLogIsAnEventWithResetError() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("reset")
            try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
            _ = try produceTestData(cluster, topic: topic, count: 10, partitions: 1)

            var config = consumerConfig(cluster, group: nil)
            config["auto.offset.reset"] = "error"
            let consumer = try RDKafkaConsumer(config: config, rebalanceHandler: nil)
            try consumer.assign([(RDKafkaTopicPartition(topic: topic, partition: 0), offset: 500)])
            var errors: [KafkaError] = []
            let deadline = Date().addingTimeInterval(10)
            while errors.isEmpty && Date() < deadline {
                consumer.poll(maxMessages: 10, timeoutMs: 100) { message in
                    if message.errorCode != nil { errors.append(message.error()) }
                }
            }
            let error = try #require(errors.first)
            #expect(error.code == .autoOffsetReset)
            #expect(error.message.contains(topic))
        }
    }
}
