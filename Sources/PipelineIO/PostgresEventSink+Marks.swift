import EventContract
import LibPQ
import PipelineCore

/// The marks of a batch COPYed into its day partitions, where no trigger of `staging.events`
/// fires: the minutes it touched for the refresh, its late events, the watermark. One call of
/// `etl.record_batch_marks` with the batch's summary per minute (`EventBatch.minuteMarks`, the copies left out), in
/// the batch's transaction: the function the marking trigger hands its statement's summary to,
/// so both ways record the same.
extension PostgresEventSink {
    func recordMarks(of batch: EventBatch, excluding copies: Set<Int>, on connection: PQConnection) throws {
        let marks = batch.minuteMarks(excluding: copies)
        guard !marks.isEmpty else { return }
        try connection.execute(
            "SELECT etl.record_batch_marks($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::timestamptz[])",
            [
                postgresArray(Array(repeating: batch.topic, count: marks.count)),
                postgresArray(marks.map { Self.timestampText(micros: $0.minuteMicros) }),
                postgresArray(Array(repeating: String(batch.batchID), count: marks.count)),
                postgresArray(marks.map { String($0.events) }),
                postgresArray(marks.map { Self.timestampText(micros: $0.maxEventTimeMicros) }),
            ])
    }

    /// Exact to the microsecond, as the event rows spell event_time (epoch seconds as a double are not).
    private static func timestampText(micros: Int64) -> String {
        var text: [UInt8] = []
        EventTime.appendPostgresText(micros: micros, to: &text)
        return String(decoding: text, as: UTF8.self)
    }
}
