import LibPQ
import PipelineCore

/// Exact deduplication without the trigger's per-event work, when no id is taken: the batch's
/// event ids, sorted, are COPYed into `etl.event_ids` and its events under one savepoint. The
/// events go straight into their day partitions (PostgresEventSink+DayPartitions), where no
/// trigger of `staging.events` fires, and the worker records their marks (PostgresEventSink+Marks).
/// When one of those partitions is not writable, they go into the parent as before, with
/// `pipeline.event_ids_claimed` set for that COPY so that `etl.divert_duplicate_events` knows
/// every record claimed its own id and returns at once.
///
/// When an id is taken (a copy within the batch or of an earlier event: 23505), or PostgreSQL
/// refuses a row (a row in the wrong partition too: 23514), the savepoint rolls back the claims
/// with the events and their marks, and the batch loads as it did before (the trigger claims
/// with `ON CONFLICT DO NOTHING`, diverts copies and conflicts, marks; refused rows are
/// isolated). The verdicts are the same either way: a batch that claims every id by COPY holds
/// no copy. Across transactions the first to commit still wins: a COPY that meets an id
/// another transaction has claimed but not committed waits for it, as `ON CONFLICT` does.
extension PostgresEventSink {
    static let claimSavepoint = "pipeline_claims"
    /// After a batch held a copy, this many batches go straight to the trigger: in a stream
    /// with many copies nearly every batch holds one, and a claim COPY that fails is wasted work.
    static let batchesWithoutClaimCopyAfterACopy = 16

    /// Loads the batch's events with their ids claimed by COPY; false (nothing loaded, the
    /// transaction as it was) when an id was taken or a row refused.
    func copyEventsClaimingIDs(_ batch: EventBatch, on connection: PQConnection) throws -> Bool {
        let partitions = try writableDayPartitions(of: batch, on: connection)
        // A refusal also undoes the setting: SET LOCAL is rolled back with its savepoint.
        return try refusalUnderSavepoint(Self.claimSavepoint, on: connection) {
            // Binary: PostgreSQL parses no uuid or timestamp text (EventBatch.writeClaimRows).
            try copyRows(into: "etl.event_ids (\(EventBatch.claimColumns))", format: .binary, on: connection) { write in
                try batch.writeClaimRows(chunkBytes: Self.copyChunkBytes, write)
                return true
            }
            if let partitions {
                try copy(batch, intoDayPartitions: partitions, on: connection)
                try recordMarks(of: batch, on: connection)
            } else {
                try connection.execute("SELECT set_config('pipeline.event_ids_claimed', 'on', true)")
                try copy(
                    batch.eventRows[...], into: "staging.events (\(EventBatch.eventColumns))", format: .binary,
                    on: connection)
                try connection.execute("SELECT set_config('pipeline.event_ids_claimed', 'off', true)")
            }
        } == nil
    }
}
