import EventContract
import PipelineCore
import Testing

/// Which of a cycle's events the worker calls copies before its lanes commit (RecentClaims):
/// no database, no Kafka.
@Suite("claim hints")
struct ClaimHintsTests {
    /// A batch of click events with these ids (by their last 12 hex digits), on `partition`.
    func batch(_ batchID: Int64, partition: Int32 = 0, ids: [Int]) -> EventBatch {
        var batch = EventBatch(topic: BatchFixture.topic)
        batch.reset(batchID: batchID, startedAtMicros: testNowMicros)
        for (offset, id) in ids.enumerated() {
            let hex = String(id, radix: 16)
            let eventID = "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - hex.count) + hex
            let payload = Array(
                #"{"event_id":"\#(eventID)","event_type":"click","event_time":"2024-05-01T10:00:00Z","user_id":"u","element":"b"}"#
                    .utf8)
            batch.add(TestMessage(partition: partition, offset: Int64(offset), payload: payload))
        }
        #expect(batch.events == ids.count, "every event valid")
        return batch
    }

    @Test func aStreamWithoutCopiesIsNotHinted() {
        var recent = RecentClaims()
        let first = batch(1, ids: [1, 2, 3])
        let firstHints = recent.hints(for: [first])
        #expect(firstHints.allSatisfy { $0.isEmpty })
        recent.cycleEnded(committed: [first], copiesLoaded: false)
        // The same ids again: without a copy loaded lately the worker does not look.
        let again = recent.hints(for: [batch(2, ids: [1, 2]), batch(3, partition: 1, ids: [2])])
        #expect(again.allSatisfy { $0.isEmpty })
    }

    @Test func copiesOfCommittedBatchesAndOfEarlierLanes() {
        var recent = RecentClaims()
        // The cycle whose copies turn the hints on, unhinted itself, is remembered.
        let first = batch(1, ids: [1, 2, 3])
        _ = recent.hints(for: [first])
        recent.cycleEnded(committed: [first], copiesLoaded: true)

        let laneA = batch(2, ids: [4, 2, 5, 6])
        let laneB = batch(3, partition: 1, ids: [7, 5, 3, 6, 8])
        let hints = recent.hints(for: [laneA, laneB])
        #expect(hints[0].copiesOfCommitted == [1], "id 2 was committed in the last cycle")
        #expect(hints[0].copiesOfEarlierLanes.isEmpty)
        #expect(hints[0].awaitedByLaterLanes, "lane B waits for it")
        #expect(hints[1].copiesOfCommitted == [2], "id 3")
        #expect(hints[1].copiesOfEarlierLanes == [1, 3], "ids 5 and 6: lane A's records claim them")
        #expect(hints[1].awaitedBatches == [2])
        #expect(!hints[1].awaitedByLaterLanes)
    }

    @Test func onlyCommittedBatchesAreRememberedAndOnlyForAWhile() {
        var recent = RecentClaims()
        let committed = batch(1, ids: [1])
        let fenced = batch(2, partition: 1, ids: [2])
        _ = recent.hints(for: [committed, fenced])
        recent.cycleEnded(committed: [committed], copiesLoaded: true)
        let next = recent.hints(for: [batch(3, ids: [1, 2])])
        #expect(next[0].copiesOfCommitted == [0], "a batch that did not commit claimed nothing")

        recent.cycleEnded(committed: [], copiesLoaded: true)
        for cycle in 1..<RecentClaims.cyclesKept {
            _ = recent.hints(for: [batch(Int64(10 + cycle), ids: [100 + cycle])])
            recent.cycleEnded(committed: [], copiesLoaded: true)
        }
        let late = recent.hints(for: [batch(30, ids: [1])])
        #expect(late[0].isEmpty, "forgotten after \(RecentClaims.cyclesKept) cycles")
    }
}
