import LibPQ
import PipelineCore

/// A batch's copies, found before anything is staged: the events whose id an earlier event of
/// the batch carries (`EventBatch.copiesWithinBatch`), and those whose id `etl.event_ids` holds.
/// They are COPYed into a temp table and judged in one statement (`etl.divert_copies`), never
/// staged and deleted again.
///
/// Why: the trigger (`etl.divert_duplicate_events`) sees copies only after they are staged, and
/// a transition table makes a COPY into the partitioned parent insert row by row; a batch with
/// one copy took that way whole. Measured on 1 000 000 events with half of them copies
/// (BENCHMARKS.md, "Ninth session").
extension PostgresEventSink {
    /// The positions of the batch's copies: those `known` (which hold the copies within the
    /// batch) and those whose claims `etl.event_ids` holds (`etl.taken_event_ids`), locked
    /// until the batch's transaction ends: pruning cannot take a claimer away before its copies
    /// are judged.
    func copiesOfClaimedIDs(in batch: EventBatch, besides known: Set<Int>, on connection: PQConnection) throws
        -> Set<Int>
    {
        var copies = known
        try connection.execute("SELECT etl.prepare_copy_checks()")
        try copyRows(into: "pg_temp.etl_batch_ids (event_id, position)", format: .binary, on: connection) { write in
            try batch.writeIDRows(excluding: copies, chunkBytes: Self.copyChunkBytes, write)
            return true
        }
        let taken = try connection.execute("SELECT position FROM etl.taken_event_ids() AS position")
        for row in 0..<taken.rowCount {
            guard let position = taken.int64(row, 0) else { continue }
            copies.insert(Int(position))
        }
        return copies
    }

    /// Moves the batch's copies to `etl.duplicate_events`: last of the batch's rows but its marks
    /// and ledger row, so that a wait comes when this lane has done all it can, and those
    /// `waiting` for lower lanes' batches once those have ended (not the others: with half the
    /// records copies, the lanes' diverts ran one after the other, 4.6 s of waits in a 15 s load).
    func divertCopies(
        _ copies: Set<Int>, waiting: WaitingCopies, of batch: EventBatch, on connection: PQConnection
    ) throws {
        try divert(copies.subtracting(waiting.copies), of: batch, on: connection)
        let afterWaiting = copies.intersection(waiting.copies)
        guard !afterWaiting.isEmpty else { return }
        for batchID in waiting.batches { try waitForTransaction(ofBatch: batchID, on: connection) }
        try divert(afterWaiting, of: batch, on: connection)
    }

    /// Moves the copies to `etl.duplicate_events` with their verdicts (`duplicate`, or
    /// `event_id_conflict` when the content differs from their claimer's), each with its
    /// payload's hash: a copy whose hash equals its claimer's is decided without reading staging.
    private func divert(_ copies: Set<Int>, of batch: EventBatch, on connection: PQConnection) throws {
        guard !copies.isEmpty else { return }
        try connection.execute("SELECT etl.prepare_copy_checks()")
        try copyRows(into: "pg_temp.etl_copies (\(EventBatch.copyColumns))", format: .binary, on: connection) { write in
            try batch.writeCopyRows(of: copies, chunkBytes: Self.copyChunkBytes, write)
            return true
        }
        // Every copy must land there: a copy left out would be in neither staging nor
        // etl.duplicate_events. (Its claimer is locked, so this cannot happen; if it did, the
        // batch's transaction rolls back and is retried rather than losing a record.)
        let moved = try connection.execute("SELECT count(*) FROM etl.divert_copies()").int64(0, 0)
        guard moved == Int64(copies.count) else {
            throw PostgresError(
                message:
                    "etl.divert_copies moved \(moved ?? 0) of batch \(batch.batchID)'s \(copies.count) copies; the batch is retried"
            )
        }
    }

    /// Held by a batch's transaction while a later lane's copies of its events wait for it to
    /// end (`ClaimHints`): PostgreSQL sees the wait, so a deadlock through it is detected and
    /// broken like any other. The two-key form: no clash with the one-key locks of `etl.*`.
    static func batchLock(shared: Bool) -> String {
        "SELECT pg_advisory_xact_lock\(shared ? "_shared" : "")(hashtext('pipeline batch in flight'), "
            + "($1::bigint % 2147483647)::integer)"
    }

    /// Waits until the transaction of the batch `batchID` (another lane's) has ended, committed
    /// or not: a copy of one of its records is judged against its claim, which must be there
    /// (`divert` fails the attempt otherwise, and its retry asks PostgreSQL instead).
    private func waitForTransaction(ofBatch batchID: Int64, on connection: PQConnection) throws {
        try connection.execute(Self.batchLock(shared: true), [String(batchID)])
    }
}
