import EventGenerator
import PipelineCore
import Testing

@Suite("EventBatch.latencySummary")
struct LatencySummaryTests {
    /// A batch of tombstones (rejections count too) with the given Kafka timestamps.
    func batch(timestampsMs: [Int64?]) -> EventBatch {
        var batch = EventBatch(topic: "t")
        batch.reset(batchID: 1, startedAtMicros: 0)
        for (offset, timestamp) in timestampsMs.enumerated() {
            batch.add(TestMessage(partition: 0, offset: Int64(offset), timestampMs: timestamp, key: nil, payload: nil))
        }
        return batch
    }

    static let baseMs: Int64 = 1_714_558_503_000

    @Test func percentilesReadFromTheOldestTimestamps() {
        // Latencies 100…200 ms, one per millisecond, arriving out of order.
        var timestamps = (0...100).map { Self.baseMs + $0 }
        var generator = SplitMix64(seed: 42)
        timestamps.shuffle(using: &generator)
        var batch = batch(timestampsMs: timestamps)
        let summary = batch.latencySummary(commitMicros: (Self.baseMs + 200) * 1000)
        #expect(summary?.percentiles == [150, 195, 200])
        // Asking twice gives the same answer.
        #expect(batch.latencySummary(commitMicros: (Self.baseMs + 200) * 1000) == summary)
    }

    @Test func maxIsTheOldestTimestamp() {
        var batch = batch(timestampsMs: [Self.baseMs + 50, nil, Self.baseMs, Self.baseMs + 90])
        let summary = batch.latencySummary(commitMicros: (Self.baseMs + 100) * 1000)
        #expect(summary?.maxMs == 100)
        #expect(summary.map { $0.p50Ms <= $0.p95Ms && $0.p95Ms <= $0.maxMs } == true)
    }

    @Test func oneTimestampGivesOneLatency() {
        var batch = batch(timestampsMs: [Self.baseMs])
        #expect(
            batch.latencySummary(commitMicros: Self.baseMs * 1000 + 2500)?.percentiles
                == [2.5, 2.5, 2.5])
    }

    @Test func smallBatchesRoundTowardTheOlderMessage() {
        // Index (count - 1) · (1 - p), rounded down, into timestamps oldest first.
        var batch = batch(timestampsMs: [Self.baseMs + 10, Self.baseMs])
        #expect(
            batch.latencySummary(commitMicros: (Self.baseMs + 20) * 1000)?.percentiles
                == [20, 20, 20])
    }

    @Test func nilWithoutTimestamps() {
        var none = batch(timestampsMs: [nil, nil])
        #expect(none.messages == 2)
        #expect(none.latencySummary(commitMicros: Self.baseMs * 1000) == nil)
        var empty = batch(timestampsMs: [])
        #expect(empty.latencySummary(commitMicros: Self.baseMs * 1000) == nil)
    }

    @Test func neverNegative() {
        // Producer clocks ahead of ours: timestamps after the commit.
        var ahead = batch(timestampsMs: [Self.baseMs + 5000, Self.baseMs + 10])
        #expect(
            ahead.latencySummary(commitMicros: Self.baseMs * 1000)?.percentiles == [0, 0, 0])

        var mixed = batch(timestampsMs: [Self.baseMs + 5000, Self.baseMs + 4000, Self.baseMs - 30])
        let summary = mixed.latencySummary(commitMicros: Self.baseMs * 1000)
        #expect(summary?.percentiles == [0, 30, 30])
    }
}

extension LatencySummary {
    /// p50, p95 and max; the struct has no public initializer to compare against.
    var percentiles: [Double] { [p50Ms, p95Ms, maxMs] }
}
