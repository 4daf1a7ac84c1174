import RdKafka
import Testing

/// Against librdkafka's mock cluster: real protocol, real sockets, no fakes. All suites nest in
/// this one so `.serialized` covers every test: each cluster and client runs several threads,
/// and two cores are enough for one test at a time.
@Suite(.serialized)
enum RdKafkaTests {}

extension RdKafkaTests {
    @Suite struct Core {
        @Test func producesKeyedMessagesAndReportsWatermarks() throws {
            let cluster = try RDKafkaMockCluster(brokers: 3)
            let topic = uniqueName("produce")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)

            let producer = try produceTestData(cluster, topic: topic, count: 10_000, partitions: 4)
            #expect(producer.deliveredCount == 10_000)
            #expect(producer.failedCount == 0)
            #expect(producer.lastDeliveryError == nil)
            #expect(producer.outQueueLength == 0)

            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: nil)
            #expect(try consumer.partitionCount(topic: topic, timeoutMs: 5000) == 4)
            for partition in Int32(0)..<4 {
                let marks = try consumer.queryWatermarks(
                    RDKafkaTopicPartition(topic: topic, partition: partition), timeoutMs: 5000)
                #expect(marks.low == 0)
                #expect(marks.high == 2500)
            }
        }

        /// A queue of 10 messages forces QUEUE_FULL on nearly every produce: `produce` must wait for
        /// room, never drop.
        @Test func fullProducerQueueIsBackPressureNotLoss() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("queue-full")
            try cluster.createTopic(topic, partitions: 2, replicationFactor: 1)
            var config = producerConfig(cluster)
            config["queue.buffering.max.messages"] = "10"
            let producer = try RDKafkaProducer(config: config)
            try produceTestData(producer, topic: topic, indices: 0..<2000, partitions: 2)
            try producer.flush(timeoutMs: 30_000)
            #expect(producer.deliveredCount == 2000)
            #expect(producer.failedCount == 0)
        }

        @Test func partitionerSpreadsByKey() throws {
            let cluster = try RDKafkaMockCluster(brokers: 1)
            let topic = uniqueName("by-key")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 1)
            let producer = try RDKafkaProducer(config: producerConfig(cluster))
            for index in 0..<400 {
                // 8 distinct keys: each key's messages must land in one partition.
                try testKey(index % 8).withUnsafeBytes { key in
                    try testPayload(index).withUnsafeBytes { value in
                        try producer.produce(topic: topic, key: key, value: value)
                    }
                }
            }
            try producer.flush(timeoutMs: 10_000)
            #expect(producer.deliveredCount == 400)

            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: nil), rebalanceHandler: nil)
            try consumer.assign(
                (0..<4).map {
                    (RDKafkaTopicPartition(topic: topic, partition: $0), offset: RDKafkaOffset.beginning)
                })
            let received = consumer.collect(count: 400)
            #expect(received.count == 400)
            var partitionOfKey: [[UInt8]: Set<Int32>] = [:]
            for message in received {
                partitionOfKey[message.key ?? [], default: []].insert(message.partition)
            }
            #expect(partitionOfKey.count == 8)
            #expect(partitionOfKey.values.allSatisfy { $0.count == 1 })
        }

        @Test func groupConsumerStartsAtTheHandlersOffsets() throws {
            let cluster = try RDKafkaMockCluster(brokers: 3)
            let topic = uniqueName("group")
            try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
            _ = try produceTestData(cluster, topic: topic, count: 10_000, partitions: 4)

            let starts: [Int32: Int64] = [0: 100, 3: 2000]
            let handler = RecordingHandler(startOffsets: starts)
            let consumer = try RDKafkaConsumer(
                config: consumerConfig(cluster, group: uniqueName("group")), rebalanceHandler: handler)
            try consumer.subscribe(topics: [topic])

            let expected = expectedMessages(count: 10_000, partitions: 4, startOffsets: starts)
            let received = consumer.collect(count: expected.count)
            #expect(received.count == expected.count)
            #expect(Set(received) == expected)
            #expect(
                handler.events.first
                    == .assigned((0..<4).map { RDKafkaTopicPartition(topic: topic, partition: $0) }))
            #expect(
                Set(try consumer.assignment())
                    == Set((0..<4).map { RDKafkaTopicPartition(topic: topic, partition: $0) }))
            #expect(consumer.memberID != nil)

            consumer.close()
            #expect(handler.revokedCount == 1)
            consumer.close()  // idempotent
            #expect(handler.revokedCount == 1)
        }
    }
}
