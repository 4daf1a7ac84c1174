import PipelineCore
import RdKafka

/// Wakes librdkafka's broker threads once the worker has taken a good part of the consumer queue,
/// so that they fetch again now rather than up to a second later.
///
/// Why (issue 13, BENCHMARKS.md "Eighth session"): librdkafka before 2.2 stops
/// fetching a partition while the consumer queue holds `queued.max.messages.kbytes`, and looks
/// again only when its broker thread wakes: on a response, an operation, or after a second
/// (librdkafka issue #2879, fixed in 2.2 by `fetch.queue.backoff.ms`). A worker faster than one
/// queue per second thus waited for that second: with 16 MiB, about 66 000 events/s at most. Any
/// request to a broker wakes its thread; the cheapest one that every broker answers for a
/// partition it leads is ListOffsets, which `watermarks` sends. One partition per leader wakes
/// every broker thread, and every partition each one serves is looked at again.
struct FetchNudger {
    /// librdkafka 2.2 and later back off by `fetch.queue.backoff.ms` instead, which a wake-up does
    /// not shorten: there the worker lowers that property (KafkaEventSource.start).
    static let isNeeded = RDKafkaVersion.current < RDKafkaVersion.fetchQueueBackoff

    /// Message bytes taken since the last nudge before the next one: a quarter of the queue, so
    /// the queue has room again and a nudge costs little next to the data it lets in.
    let byteThreshold: Int
    private var bytesTaken = 0
    /// A partition led by each broker, from metadata; nil until read, and after a failed nudge
    /// (a leader may have moved).
    private var wakePartitions: [Int32]?
    private var leadersReadAtMs: Int64 = 0

    /// Leaders move rarely; they are read again this often.
    private static let leadersMaxAgeMs: Int64 = 30_000
    /// A nudge waits this long at most for a broker: a broker slow to answer costs the loop this.
    static let requestTimeoutMs: Int32 = 200

    init(queueBytes: Int) {
        byteThreshold = max(queueBytes / 4, 1)
    }

    mutating func taken(bytes: Int) { bytesTaken += bytes }

    /// Nudges the brokers if enough was taken since the last time.
    mutating func nudgeIfDue(_ consumer: RDKafkaConsumer, topic: String) {
        guard Self.isNeeded, bytesTaken >= byteThreshold else { return }
        bytesTaken = 0
        let nowMs = WallClock.monotonicMs()
        if wakePartitions == nil || nowMs - leadersReadAtMs > Self.leadersMaxAgeMs {
            wakePartitions = try? Self.onePartitionPerLeader(consumer, topic: topic)
            leadersReadAtMs = nowMs
        }
        for partition in wakePartitions ?? [] {
            let topicPartition = RDKafkaTopicPartition(topic: topic, partition: partition)
            guard (try? consumer.queryWatermarks(topicPartition, timeoutMs: Self.requestTimeoutMs)) != nil else {
                wakePartitions = nil
                return
            }
        }
    }

    private static func onePartitionPerLeader(_ consumer: RDKafkaConsumer, topic: String) throws -> [Int32] {
        var byLeader: [Int32: Int32] = [:]
        for (partition, leader) in try consumer.partitionLeaders(topic: topic, timeoutMs: requestTimeoutMs)
            .enumerated()
        where leader >= 0 && byLeader[leader] == nil {
            byLeader[leader] = Int32(partition)
        }
        return byLeader.values.sorted()
    }
}
