import Foundation
import RdKafka

/// Names unique per test run, so tests never see each other's topics or groups.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// The payload of the `index`-th message of a test data set.
func testPayload(_ index: Int) -> [UInt8] {
    Array("value-\(index)-\(String(repeating: "x", count: index % 37))".utf8)
}

func testKey(_ index: Int) -> [UInt8] { Array("key-\(index)".utf8) }

/// Produces `count` keyed messages round-robin over `partitions`: message `i` goes to partition
/// `i % partitions` at offset `i / partitions`, so every (partition, offset) has a known payload.
func produceTestData(
    _ cluster: RDKafkaMockCluster, topic: String, count: Int, partitions: Int32
) throws -> RDKafkaProducer {
    let producer = try RDKafkaProducer(config: producerConfig(cluster))
    try produceTestData(producer, topic: topic, indices: 0..<count, partitions: partitions)
    try producer.flush(timeoutMs: 30_000)
    return producer
}

/// Queues messages `indices` of the data set without waiting for their delivery.
func produceTestData(
    _ producer: RDKafkaProducer, topic: String, indices: Range<Int>, partitions: Int32
) throws {
    for index in indices {
        let key = testKey(index)
        let value = testPayload(index)
        try key.withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                try producer.produce(
                    topic: topic, partition: Int32(index % Int(partitions)), key: keyBytes, value: valueBytes)
            }
        }
    }
}

func producerConfig(_ cluster: RDKafkaMockCluster) -> RDKafkaConfig {
    RDKafkaConfig([
        "bootstrap.servers": cluster.bootstrapServers,
        "linger.ms": "5",
    ])
}

/// Short session and heartbeat so group joins and rebalances take about a second, not ten.
func consumerConfig(_ cluster: RDKafkaMockCluster, group: String?) -> RDKafkaConfig {
    var config = RDKafkaConfig([
        "bootstrap.servers": cluster.bootstrapServers,
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
        "topic.metadata.refresh.interval.ms": "1000",
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": "50",
    ])
    config["group.id"] = group
    return config
}

/// One consumed message, copied out of the borrowed view.
struct Received: Hashable {
    var partition: Int32
    var offset: Int64
    var key: [UInt8]?
    var payload: [UInt8]?
}

/// Records what the consumer told it; answers start offsets from `startOffsets` (by partition,
/// default: beginning).
final class RecordingHandler: RDKafkaRebalanceHandler {
    var startOffsets: [Int32: Int64]
    var takeNone = false
    private(set) var events: [Event] = []
    private(set) var errors: [KafkaError] = []

    enum Event: Equatable {
        case assigned([RDKafkaTopicPartition])
        case revoked([RDKafkaTopicPartition])
    }

    init(startOffsets: [Int32: Int64] = [:]) { self.startOffsets = startOffsets }

    var assignedCount: Int { events.filter { if case .assigned = $0 { true } else { false } }.count }
    var revokedCount: Int { events.filter { if case .revoked = $0 { true } else { false } }.count }

    /// The partitions held now, by replaying the events.
    var current: Set<RDKafkaTopicPartition> {
        var held = Set<RDKafkaTopicPartition>()
        for event in events {
            switch event {
            case .assigned(let partitions): held = takeNone ? [] : Set(partitions)
            case .revoked: held = []
            }
        }
        return held
    }

    func startOffsets(forAssigned partitions: [RDKafkaTopicPartition]) -> [Int64]? {
        events.append(.assigned(partitions))
        if takeNone { return nil }
        return partitions.map { startOffsets[$0.partition] ?? RDKafkaOffset.beginning }
    }

    func partitionsRevoked(_ partitions: [RDKafkaTopicPartition]) {
        events.append(.revoked(partitions))
    }

    func kafkaError(_ error: KafkaError) {
        errors.append(error)
    }
}

extension RDKafkaConsumer {
    /// Polls until `until` says stop or `seconds` pass, copying messages out; events (a view with an
    /// `errorCode`) are collected apart.
    func collect(
        into received: inout [Received], events: inout [KafkaError.Code], seconds: Double = 45,
        until: (_ received: [Received], _ events: [KafkaError.Code]) -> Bool
    ) {
        let deadline = Date().addingTimeInterval(seconds)
        while !until(received, events) && Date() < deadline {
            poll(maxMessages: 1000, timeoutMs: 100) { message in
                if let code = message.errorCode {
                    events.append(code)
                    return
                }
                received.append(
                    Received(
                        partition: message.partition, offset: message.offset,
                        key: message.key.map { Array($0) }, payload: message.payload.map { Array($0) }))
            }
        }
    }

    func collect(count: Int, seconds: Double = 20) -> [Received] {
        var received: [Received] = []
        var events: [KafkaError.Code] = []
        collect(into: &received, events: &events, seconds: seconds) { received, _ in
            received.count >= count
        }
        return received
    }
}

/// The messages a consumer should see from `produceTestData`, given start offsets per partition.
func expectedMessages(count: Int, partitions: Int32, startOffsets: [Int32: Int64] = [:]) -> Set<
    Received
> {
    var expected = Set<Received>()
    for index in 0..<count {
        let partition = Int32(index % Int(partitions))
        let offset = Int64(index / Int(partitions))
        guard offset >= (startOffsets[partition] ?? 0) else { continue }
        expected.insert(
            Received(
                partition: partition, offset: offset, key: testKey(index), payload: testPayload(index)))
    }
    return expected
}
