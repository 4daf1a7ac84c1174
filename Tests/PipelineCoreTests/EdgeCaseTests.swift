import EventGenerator
import PipelineCore
import Testing

@Suite("odd inputs from Kafka never crash the batch")
struct EdgeCaseTests {
    static let event = Array(
        #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"page_view","event_time":"2025-11-24T10:15:03Z","user_id":"u1"}"#
            .utf8)

    @Test(
        "a Kafka timestamp beyond year 9999 is loaded as NULL, not a crash",
        arguments: [Int64.max, 253_402_300_800_000, -5])
    func absurdTimestamp(timestampMs: Int64) {
        var batch = EventBatch(topic: "events")
        batch.reset(batchID: 1, startedAtMicros: testNowMicros)
        batch.add(TestMessage(partition: 0, offset: 0, timestampMs: timestampMs, key: nil, payload: Self.event))
        batch.add(TestMessage(partition: 0, offset: 1, timestampMs: timestampMs, key: nil, payload: [0xFF]))
        let eventRow = CopyBinaryRows.eventRows(batch.eventRows)[0]
        #expect(eventRow[8] == nil)  // kafka_timestamp
        let rejectRow = CopyRows.parse(batch.rejectRows)[0]
        #expect(rejectRow[3] == nil)
        #expect(batch.minKafkaTimestampMs == nil && batch.maxKafkaTimestampMs == nil)
        #expect(batch.latencySummary(commitMicros: testNowMicros) == nil)
    }

    @Test("the largest valid Kafka timestamp is the batch's min and max")
    func largestTimestamp() {
        var batch = EventBatch(topic: "events")
        batch.reset(batchID: 1, startedAtMicros: testNowMicros)
        batch.add(TestMessage(partition: 0, offset: 0, timestampMs: 253_402_300_799_999, key: nil, payload: Self.event))
        #expect(batch.minKafkaTimestampMs == 253_402_300_799_999)
        #expect(batch.maxKafkaTimestampMs == 253_402_300_799_999)
    }

    @Test("backoff with absurd settings stays within [0, cap]")
    func backoffOverflow() {
        var generator = SplitMix64(seed: 1)
        for (base, cap) in [(1 << 44, 10_000), (1 << 50, Int.max), (Int.max, 5)] {
            var backoff = Backoff(baseMs: base, capMs: cap)
            for _ in 0..<64 {
                let delay = backoff.nextDelayMs(using: &generator)
                #expect(delay >= 0 && delay <= cap)
            }
        }
    }
}
