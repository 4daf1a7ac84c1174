import EventContract
import Testing

@testable import PipelineCore

/// What the sink needs to load a batch straight into its day partitions of staging.events: each
/// day's rows, and the summary per minute `etl.record_batch_marks` records the marks from.
@Suite("EventBatch: rows per day, marks per minute")
struct DayPartitionLoadTests {
    /// Every chunk `writeEventRows(ofDay:)` hands out, joined.
    func rows(_ batch: EventBatch, ofDay day: Int32, chunkBytes: Int) -> [UInt8] {
        var rows: [UInt8] = []
        batch.writeEventRows(ofDay: day, chunkBytes: chunkBytes) { rows += $0 }
        return rows
    }

    /// An accepted click at `time` (RFC 3339); `id` 1…9.
    func click(_ id: Int, at time: String) -> TestMessage {
        let eventID = "00000000-0000-4000-8000-00000000000\(id)"
        return TestMessage(
            partition: 0, offset: Int64(100 + id), timestampMs: nil,
            payload: Array(
                #"{"event_id":"\#(eventID)","event_type":"click","event_time":"\#(time)","user_id":"u","element":"b"}"#
                    .utf8))
    }

    @Test func eachDaysRowsAreThatDaysEventsInArrivalOrder() throws {
        let batch = BatchFixture.batch()
        let all = CopyBinaryRows.eventRows(batch.eventRows)
        var seen = 0
        for day in batch.days {
            for chunkBytes in [1, 100, 1 << 20] {
                let parsed = CopyBinaryRows.eventRows(rows(batch, ofDay: day, chunkBytes: chunkBytes))
                #expect(!parsed.isEmpty)
                let expectedDay = all.filter { EventTime.dayNumber(micros: micros(ofStored: $0[2].text!)) == day }
                #expect(parsed == expectedDay, "day \(day), chunks of \(chunkBytes) bytes")
                if chunkBytes == 1 << 20 { seen += parsed.count }
            }
        }
        #expect(seen == all.count, "every row on exactly one day")
        #expect(rows(batch, ofDay: 0, chunkBytes: 100).isEmpty, "a day without events has no rows")
    }

    @Test func aBatchOfOneDayHandsOutItsBufferAsItIs() {
        var batch = EventBatch(topic: "t", expectedBytes: 4096)
        batch.reset(batchID: 1, startedAtMicros: testNowMicros)
        for id in 1...5 { batch.add(click(id, at: "2025-11-24T10:0\(id):00Z")) }
        #expect(batch.days.count == 1)
        var chunks: [Int] = []
        batch.writeEventRows(ofDay: batch.days[0], chunkBytes: 64) { chunks.append($0.count) }
        #expect(chunks.dropLast().allSatisfy { $0 == 64 } && chunks.reduce(0, +) == batch.eventRows.count)
        #expect(rows(batch, ofDay: batch.days[0], chunkBytes: 64) == batch.eventRows)
    }

    @Test func minuteMarksSumEachMinutesEventsAndTheirLatestTime() {
        var batch = BatchFixture.batch()
        // Out of order, two more in the page view's minute (10:15 UTC), one in a minute of its own.
        batch.add(click(1, at: "2024-05-01T10:15:59.999999Z"))
        batch.add(click(2, at: "2024-05-01T12:00:00+01:00"))
        batch.add(click(3, at: "2024-05-01T10:15:00Z"))
        #expect(
            batch.minuteMarks() == [
                MinuteMark(
                    minuteMicros: micros("2024-04-29T12:00:00Z"), events: 1,
                    maxEventTimeMicros: micros("2024-04-29T12:00:00Z")),
                MinuteMark(
                    minuteMicros: micros("2024-04-30T23:30:00Z"), events: 1,
                    maxEventTimeMicros: micros("2024-04-30T23:30:00Z")),
                MinuteMark(
                    minuteMicros: micros("2024-05-01T10:15:00Z"), events: 3,
                    maxEventTimeMicros: micros("2024-05-01T10:15:59.999999Z")),
                MinuteMark(
                    minuteMicros: micros("2024-05-01T11:00:00Z"), events: 1,
                    maxEventTimeMicros: micros("2024-05-01T11:00:00Z")),
                MinuteMark(
                    minuteMicros: micros("2024-05-01T23:59:00Z"), events: 1,
                    maxEventTimeMicros: micros("2024-05-01T23:59:59.999999Z")),
            ])
        batch.reset(batchID: 8, startedAtMicros: testNowMicros)
        #expect(batch.minuteMarks().isEmpty)
    }

    @Test func aMinuteBeforeTheEpochIsTheOneItStartsIn() {
        var batch = EventBatch(topic: "t")
        batch.reset(batchID: 1, startedAtMicros: testNowMicros)
        batch.add(
            click(1, at: "1969-12-31T23:59:59.5Z"),
            validator: EventValidator(limits: ContractLimits(minEventTimeMicros: -86_400_000_000)))
        #expect(batch.minuteMarks().map(\.minuteMicros) == [-60_000_000], "date_trunc's minute: 23:59, not 00:00")
    }

    private func micros(_ rfc3339: String) -> Int64 {
        Array(rfc3339.utf8).withUnsafeBytes { EventTime.parseRFC3339($0)! }
    }

    /// An event_time as the rows spell it, "2024-05-01 10:15:03.250000+00".
    private func micros(ofStored text: String) -> Int64 {
        micros(String(text.map { $0 == " " ? "T" : $0 }).dropLast(3) + "Z")
    }
}
