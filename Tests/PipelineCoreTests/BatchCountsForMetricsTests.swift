import PipelineCore
import Testing

/// What the metrics read off a batch: rejections per reason and the Kafka timestamps.
@Suite("EventBatch counts for metrics")
struct BatchCountsForMetricsTests {
    @Test("rejections per reason, in order of first appearance, and every Kafka timestamp; reset empties both")
    func countsAndTimestamps() {
        var batch = BatchFixture.batch()
        let reasons = batch.rejectedByReason.map { "\($0.reason)=\($0.count)" }
        #expect(reasons == ["invalid_utf8=1", "empty=2", "missing_field=1"])
        #expect(batch.rejectedByReason.reduce(0) { $0 + $1.count } == batch.rejected)
        #expect(
            batch.kafkaTimestampsMs.sorted()
                == BatchFixture.messages.compactMap(\.timestampMs).sorted(), "messages without one are left out")

        batch.reset(batchID: 8, startedAtMicros: 0)
        #expect(batch.rejectedByReason.isEmpty)
        #expect(batch.kafkaTimestampsMs.isEmpty)
    }
}
