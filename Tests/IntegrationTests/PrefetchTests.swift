import Foundation
import Logging
import PipelineCore
import PipelineIO
import Testing

/// What the worker takes from Kafka while its batches commit (`KafkaEventSource.prefetch`) reaches
/// it through the next polls exactly as a poll would have handed it: every message once, in
/// offset order per partition, with its key and bytes, and none of a partition sought elsewhere.
@Suite struct PrefetchTests {
    /// Answers every assignment with offset 0, as etl.offsets would for a new topic.
    final class StartAtZero: AssignmentListener {
        func partitionsAssigned(_ partitions: [Int32]) -> [Int64]? { partitions.map { _ in 0 } }
        func partitionsRevoked(_ partitions: [Int32]) {}
    }

    struct Seen: Equatable {
        var partition: Int32
        var offset: Int64
        var key: [UInt8]?
        var value: [UInt8]?
    }

    static let partitions: Int32 = 2
    static let count = 400

    /// Message i goes to partition i % 2 at offset i / 2, keyed, with a value of its own length.
    static func message(_ index: Int) -> EventFactory.Message {
        EventFactory.Message(
            key: Array("k\(index)".utf8), value: Array("v\(index)-\(String(repeating: "x", count: index % 50))".utf8),
            expectedReason: nil, eventID: nil)
    }

    static func expected(partition: Int32, from offset: Int64) -> [Seen] {
        stride(from: Int(offset) * Int(partitions) + Int(partition), to: count, by: Int(partitions)).map { index in
            let message = message(index)
            return Seen(partition: partition, offset: Int64(index / 2), key: message.key, value: message.value)
        }
    }

    /// A started source with what it needs alive: its topic and its (weakly held) listener.
    struct Rig {
        var source: KafkaEventSource
        var listener: StartAtZero
        var kafka: KafkaFixture
    }

    /// A source over a fresh topic holding the data set, prefetching at most `prefetchBytes`.
    static func rig(prefetchBytes: Int) throws -> Rig {
        let kafka = try KafkaFixture(brokers: 1, partitions: partitions)
        for index in 0..<count {
            try kafka.produce([message(index)], partition: Int32(index) % partitions)
        }
        let source = KafkaEventSource(
            settings: .init(
                brokers: kafka.brokers, topic: kafka.topic, group: nil, clientID: "prefetch-test",
                prefetchBytes: prefetchBytes),
            logger: Logger(label: "prefetch-test"))
        let listener = StartAtZero()
        source.assignmentListener = listener
        try source.start()
        return Rig(source: source, listener: listener, kafka: kafka)
    }

    /// Prefetches until the buffer is full (or 20 s pass).
    static func prefetchUntilFull(_ source: KafkaEventSource) {
        let deadline = Date().addingTimeInterval(20)
        while source.prefetch(timeoutMs: 100), Date() < deadline {}
    }

    /// Polls (small polls, so replay and live polling interleave) until both partitions ended.
    static func pollToEnd(_ source: KafkaEventSource) throws -> [Seen] {
        var seen: [Seen] = []
        var ended = Set<Int32>()
        let deadline = Date().addingTimeInterval(30)
        while ended.count < partitions, Date() < deadline {
            try source.poll(maxMessages: 7, timeoutMs: 100) { event in
                switch event {
                case .message(let message):
                    seen.append(
                        Seen(
                            partition: message.partition, offset: message.offset, key: message.key.map { Array($0) },
                            value: message.payload.map { Array($0) }))
                case .endOfPartition(let partition, _): ended.insert(partition)
                case .positionOutOfRange: break
                }
            }
        }
        return seen
    }

    @Test func prefetchedMessagesArriveThroughPollInOrder() throws {
        let rig = try Self.rig(prefetchBytes: 2_000)
        let source = rig.source
        defer {
            source.close()
            withExtendedLifetime(rig) {}
        }
        Self.prefetchUntilFull(source)
        #expect(!source.prefetch(timeoutMs: 0), "a full buffer takes nothing more")

        let seen = try Self.pollToEnd(source)
        for partition in 0..<Self.partitions {
            #expect(seen.filter { $0.partition == partition } == Self.expected(partition: partition, from: 0))
        }
        #expect(seen.count == Self.count)
    }

    @Test func seekDropsThePartitionsPrefetchedMessages() throws {
        let rig = try Self.rig(prefetchBytes: 1 << 20)
        let source = rig.source
        defer {
            source.close()
            withExtendedLifetime(rig) {}
        }
        // Two seconds of prefetching take everything (1 MiB of room); a poll replays a little of
        // it; then partition 0 is sent back to 150 and partition 1 forward to 180: neither
        // partition's remaining copies may come through.
        let until = Date().addingTimeInterval(2)
        while Date() < until { _ = source.prefetch(timeoutMs: 50) }
        var polled = 0
        try source.poll(maxMessages: 10, timeoutMs: 0) { _ in polled += 1 }
        #expect(polled == 10)
        try source.seek(partition: 0, to: 150)
        try source.seek(partition: 1, to: 180)

        let seen = try Self.pollToEnd(source)
        #expect(seen.filter { $0.partition == 0 } == Self.expected(partition: 0, from: 150))
        #expect(seen.filter { $0.partition == 1 } == Self.expected(partition: 1, from: 180))
    }
}
