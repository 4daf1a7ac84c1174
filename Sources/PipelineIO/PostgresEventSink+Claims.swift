import LibPQ
import PipelineCore

/// Exact deduplication without the trigger's per-event work: the batch's event ids, sorted, are
/// COPYed into `etl.event_ids` and its events under one savepoint. The events go straight into
/// their day partitions (PostgresEventSink+DayPartitions), where no trigger of `staging.events`
/// fires, and the worker records their marks (PostgresEventSink+Marks). When one of those
/// partitions is not writable, they go into the parent as before, with
/// `pipeline.event_ids_claimed` set for that COPY so that `etl.divert_duplicate_events` knows
/// every record claimed its own id and returns at once.
///
/// When an id is taken (a copy within the batch or of an earlier event: 23505), the savepoint
/// rolls back the claims with the events and their marks; the sink then finds the batch's
/// copies (PostgresEventSink+Copies), claims the other events' ids and loads them the same way,
/// and moves the copies to `etl.duplicate_events` with their verdicts: copies never enter
/// staging. The verdicts are the trigger's (`etl.divert_copies` makes them for both). Across
/// transactions the first to commit still wins: a COPY that meets an id another transaction has
/// claimed but not committed waits for it, as `ON CONFLICT` does, and fails when it commits;
/// the copies are then looked for again.
///
/// The worker hints which events are copies of events its own batches carry (`ClaimHints`):
/// of a batch it committed in its last cycles, or of an earlier lane's batch committing now.
/// Those claim nothing and are not asked about; a copy of an earlier lane's record is judged
/// after that lane's transaction has ended (an advisory lock PostgreSQL sees: no lane takes
/// turns at a claim, and a deadlock through the wait is detected as any other). A hint that
/// does not hold fails the attempt, and the retry asks PostgreSQL.
///
/// When PostgreSQL refuses a row (a row in the wrong partition too: 23514), the batch loads as
/// it did before the worker claimed ids (the trigger claims with `ON CONFLICT DO NOTHING`,
/// diverts copies and conflicts, marks; refused rows are isolated).
extension PostgresEventSink {
    static let claimSavepoint = "pipeline_claims"
    /// After a batch held a copy, this many batches look for copies before claiming: in a
    /// stream with many copies nearly every batch holds one, and a claim COPY that fails is
    /// wasted work.
    static let batchesCheckedFirstAfterACopy = 16
    /// Claims that meet an id another transaction claimed meanwhile, before the batch goes
    /// through the trigger instead.
    static let claimAttempts = 4

    /// A batch loaded with its ids claimed: its copies' positions among its events (still to
    /// divert: `divertCopies`), those of them that wait for lower lanes' batches, and whether it
    /// went into its day partitions (its marks then still to record).
    struct ClaimedLoad {
        var copies: Set<Int>
        var waiting: WaitingCopies
        var intoDayPartitions: Bool
    }

    /// The copies of records in lower lanes' batches of the same cycle (`ClaimHints`), every
    /// record of the batch with such an id, and those batches: diverted once they have ended.
    struct WaitingCopies {
        var copies: Set<Int> = []
        var batches: [Int64] = []

        init() {}

        init(_ batch: EventBatch, hints: ClaimHints) {
            guard !hints.copiesOfEarlierLanes.isEmpty else { return }
            let ids = Set(hints.copiesOfEarlierLanes.map { batch.claims[$0].eventID })
            copies = Set(batch.claims.indices.filter { ids.contains(batch.claims[$0].eventID) })
            batches = hints.awaitedBatches
        }
    }

    /// Loads the batch's events with their ids claimed by COPY, and finds its copies (which
    /// `divertCopies` then moves); nil (nothing loaded, the transaction as it was) when
    /// PostgreSQL refused a row. The copies the worker hinted (`hints`; with them, those within
    /// the batch) claim nothing and are not asked about.
    func copyEventsClaimingIDs(_ batch: EventBatch, hints: ClaimHints, on connection: PQConnection) throws
        -> ClaimedLoad?
    {
        let partitions = try writableDayPartitions(of: batch, on: connection)
        let waiting = WaitingCopies(batch, hints: hints)
        let loaded = { (copies: Set<Int>) in
            ClaimedLoad(copies: copies, waiting: waiting, intoDayPartitions: partitions != nil)
        }
        var known = hints.copiesOfCommitted.union(hints.copiesOfEarlierLanes)
        let hinted = !known.isEmpty
        var withinBatchKnown = false
        func addCopiesWithinBatch() {
            guard !withinBatchKnown else { return }
            known.formUnion(batch.copiesWithinBatch)  // a sort of the batch's claims: once
            withinBatchKnown = true
        }
        if hinted || batchesCheckedFirst > 0 { addCopiesWithinBatch() }
        // After a claim COPY failed, look first; but a failure without hints says nothing of
        // batches with them.
        let lookFirst = batchesCheckedFirst > 0 && (!hinted || hintedBatchesCheckedFirst)
        batchesCheckedFirst = max(0, batchesCheckedFirst - 1)
        if !lookFirst {
            let refusal = try claimAndCopy(batch, excluding: known, into: partitions, on: connection)
            guard let refusal else { return loaded(known) }
            guard refusal.sqlState == .uniqueViolation else { return nil }
            batchesCheckedFirst = Self.batchesCheckedFirstAfterACopy
            hintedBatchesCheckedFirst = hinted
            addCopiesWithinBatch()
        }
        for _ in 0..<Self.claimAttempts {
            let copies = try copiesOfClaimedIDs(in: batch, besides: known, on: connection)
            let refusal = try claimAndCopy(batch, excluding: copies, into: partitions, on: connection)
            guard let refusal else { return loaded(copies) }
            guard refusal.sqlState == .uniqueViolation else { return nil }
        }
        return nil
    }

    /// Under one savepoint: claims the ids of the events not in `excluded` and loads those
    /// events; returns PostgreSQL's refusal (all of it rolled back), or nil.
    private func claimAndCopy(
        _ batch: EventBatch, excluding copies: Set<Int>, into partitions: [String]?, on connection: PQConnection
    ) throws -> PostgresError? {
        // A refusal also undoes the setting: SET LOCAL is rolled back with its savepoint.
        try refusalUnderSavepoint(Self.claimSavepoint, on: connection) {
            // Binary: PostgreSQL parses no uuid or timestamp text (EventBatch.writeClaimRows).
            try copyRows(into: "etl.event_ids (\(EventBatch.claimColumns))", format: .binary, on: connection) { write in
                try batch.writeClaimRows(excluding: copies, chunkBytes: Self.copyChunkBytes, write)
                return true
            }
            if let partitions {
                try copy(batch, excluding: copies, intoDayPartitions: partitions, on: connection)
            } else {
                try connection.execute("SELECT set_config('pipeline.event_ids_claimed', 'on', true)")
                try copyRows(into: "staging.events (\(EventBatch.eventColumns))", format: .binary, on: connection) {
                    write in
                    try batch.writeEventRows(chunkBytes: Self.copyChunkBytes, write) { position, _ in
                        !copies.contains(position)
                    }
                    return true
                }
                try connection.execute("SELECT set_config('pipeline.event_ids_claimed', 'off', true)")
            }
        }
    }
}
