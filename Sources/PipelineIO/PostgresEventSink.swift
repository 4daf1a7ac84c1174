import LibPQ
import Logging
import PipelineCore

/// The worker's PostgreSQL side: claims partitions, and loads each batch in
/// ONE transaction (fenced offset advance, COPY events, COPY rejects, ledger
/// row). Owns its connection and re-establishes it after a loss; not
/// Sendable, like the connection it holds.
public final class PostgresEventSink: EventSink {
    private let databaseURL: String
    private let topic: String
    private let workerID: String
    let logger: Logger
    private var connection: PQConnection?
    /// A batch whose COMMIT may or may not have happened (the connection broke
    /// during the transaction): the next attempt asks etl.batches first.
    private var batchWithUnknownOutcome: Int64?
    /// Batches still to look for copies in before claiming their ids, and whether those the
    /// worker hinted too (PostgresEventSink+Claims).
    var batchesCheckedFirst = 0
    var hintedBatchesCheckedFirst = false
    /// The batch of the last attempt: a second attempt at it sets its `claimHints` aside.
    private var lastAttemptedBatch: Int64?
    /// A day partition this role may not write was warned about (PostgresEventSink+DayPartitions).
    var warnedOfUnwritablePartition = false
    /// `etl.aggregates` as last read, and what the worker made of it (PostgresEventSink+Partials).
    var declarationsCache: (json: String, declarations: [AggregateDeclaration]?)?

    /// Bytes handed to libpq per PQputCopyData call.
    static let copyChunkBytes = 1 << 20

    public init(databaseURL: String, topic: String, workerID: String, logger: Logger) {
        self.databaseURL = databaseURL
        self.topic = topic
        self.workerID = workerID
        self.logger = logger
    }

    /// The backend's process id, for tests that kill it.
    public var backendPID: Int32? { connection?.backendPID }

    public func claimPartitions(_ partitions: [PartitionWatermarks], startFrom: StartPosition) throws
        -> [PartitionStart]
    {
        try withConnection { connection in
            try connection.transaction {
                let numbers = postgresArray(partitions.map { String($0.partition) })
                let initial = partitions.map { String(startFrom == .earliest ? $0.low : $0.high) }
                // A partition seen for the first time starts at --start-from; a concurrent claimer's row wins.
                try connection.execute(
                    """
                    INSERT INTO etl.offsets (topic, partition, next_offset, updated_by)
                    SELECT $1, p, n, $4 FROM unnest($2::int[], $3::bigint[]) AS t(p, n)
                    ON CONFLICT (topic, partition) DO NOTHING
                    """, [topic, numbers, postgresArray(initial), workerID])
                let stored = try storedOffsets(partitions.map(\.partition), on: connection, lock: true)
                var starts: [PartitionStart] = []
                for marks in partitions {
                    guard let next = stored[marks.partition] else {
                        throw PostgresError(
                            message: "etl.offsets has no row for partition \(marks.partition) after inserting it")
                    }
                    guard next < marks.low else {
                        starts.append(PartitionStart(partition: marks.partition, nextOffset: next))
                        continue
                    }
                    // Retention deleted [next, low - 1] before we loaded it: record the loss, move on.
                    try connection.execute(
                        """
                        WITH moved AS (
                            UPDATE etl.offsets SET next_offset = $3, updated_at = now(), updated_by = $5
                            WHERE topic = $1 AND partition = $2 AND next_offset = $4
                            RETURNING partition
                        )
                        INSERT INTO etl.gaps (topic, partition, first_offset, last_offset, detected_by)
                        SELECT $1, partition, $4, $3::bigint - 1, $5 FROM moved
                        """, [topic, String(marks.partition), String(marks.low), String(next), workerID])
                    starts.append(
                        PartitionStart(
                            partition: marks.partition, nextOffset: marks.low, lostRange: next...(marks.low - 1)))
                }
                return starts
            }
        }
    }

    public func storedOffsets(_ partitions: [Int32]) throws -> [Int32: Int64] {
        try withConnection { try storedOffsets(partitions, on: $0, lock: false) }
    }

    public func reserveBatchID() throws -> Int64 {
        try withConnection { connection in
            guard let id = try connection.execute("SELECT nextval('etl.batch_id_seq')").int64(0, 0) else {
                throw PostgresError(message: "nextval('etl.batch_id_seq') returned no value")
            }
            return id
        }
    }

    public func commit(_ batch: EventBatch) throws -> CommitOutcome {
        try withConnection { connection in
            if batchWithUnknownOutcome == batch.batchID {
                // Resolve by reading, never by guessing: the ledger row commits with the batch.
                let found = try connection.execute(
                    "SELECT \(Self.summaryColumns) FROM etl.batches WHERE batch_id = $1", [String(batch.batchID)])
                batchWithUnknownOutcome = nil
                if found.rowCount == 1 {
                    logger.info(
                        "a batch whose commit was interrupted had committed",
                        metadata: [LogKeys.batchID: "\(batch.batchID)"])
                    return .committed(try Self.commitSummary(batch, ledgerRow: found))
                }
            }
            try ensureEventPartitions(batch.days, on: connection)
            // A retry does without the worker's hints: they may be what failed (a copy of an
            // earlier lane's record whose batch did not commit).
            let hints = lastAttemptedBatch == batch.batchID ? ClaimHints() : batch.claimHints
            lastAttemptedBatch = batch.batchID
            batchWithUnknownOutcome = batch.batchID
            let outcome = try loadInOneTransaction(batch, hints: hints, on: connection)
            batchWithUnknownOutcome = nil
            return outcome
        }
    }

    // MARK: - The batch transaction

    private func loadInOneTransaction(_ batch: EventBatch, hints: ClaimHints, on connection: PQConnection) throws
        -> CommitOutcome
    {
        try connection.execute("BEGIN")
        do {
            if batch.claimHints.awaitedByLaterLanes {
                try connection.execute(Self.batchLock(shared: false), [String(batch.batchID)])
            }
            // The fenced offset advance comes first: it row-locks the partitions'
            // etl.offsets rows, so a second worker on the same partitions waits
            // here, then finds the offset moved and rolls back before any COPY.
            let ranges = batch.partitionRanges
            let advanced = try connection.execute(
                """
                UPDATE etl.offsets AS o
                SET next_offset = i.next_offset, updated_at = now(), updated_by = $5
                FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS i(partition, expected, next_offset)
                WHERE o.topic = $1 AND o.partition = i.partition AND o.next_offset = i.expected
                RETURNING o.partition
                """,
                [
                    topic, postgresArray(ranges.map { String($0.partition) }),
                    postgresArray(ranges.map { String($0.expectedNextOffset) }),
                    postgresArray(ranges.map { String($0.lastOffset + 1) }), workerID,
                ])
            if advanced.rowCount != ranges.count {
                let moved = Set((0..<advanced.rowCount).compactMap { advanced.value($0, 0).flatMap { Int32($0) } })
                try connection.execute("ROLLBACK")
                let fenced = ranges.first { !moved.contains($0.partition) }?.partition ?? ranges[0].partition
                return .fenced(partition: fenced)
            }

            let copyStarted = WallClock.monotonicMs()
            let refused = try copyEventsIsolatingRefusedRows(batch, hints: hints, on: connection)
            let rejects = "etl.rejected_events (\(EventBatch.rejectColumns))"
            try copy(batch.rejectRows[...], into: rejects, format: .text, on: connection)
            try copy(refused.rejectRows[...], into: rejects, format: .text, on: connection)
            let aggregated = try shipPartialAggregates(batch, refused: refused, on: connection)
            if refused.claimedByCopy {
                try divertCopies(refused.copies, waiting: refused.waiting, of: batch, on: connection)
            }
            // Last before the ledger row: the marks move the topic's row of etl.watermarks, and
            // its lock, held to COMMIT, makes every other lane's marks wait.
            if refused.marksOwed { try recordMarks(of: batch, excluding: refused.copies, on: connection) }
            let copyMs = WallClock.monotonicMs() - copyStarted
            let ledgerRow = try insertLedgerRow(
                batch, refusedRows: refused.count, aggregated: aggregated, copyMs: copyMs, on: connection)
            try connection.execute("COMMIT")
            return .committed(try Self.commitSummary(batch, ledgerRow: ledgerRow))
        } catch {
            if connection.isAlive { _ = try? connection.execute("ROLLBACK") }
            throw error
        }
    }

    /// Writes the batch's ledger row; returns its `summaryColumns`. Duplicates and conflicts
    /// are what the sink (PostgresEventSink+Copies) or the staging.events trigger moved to
    /// etl.duplicate_events.
    private func insertLedgerRow(
        _ batch: EventBatch, refusedRows: Int, aggregated: Bool, copyMs: Int64, on connection: PQConnection
    ) throws -> PQResult {
        var batch = batch  // latencySummary sorts the timestamps: a copy of those alone
        let latency = batch.latencySummary(commitMicros: WallClock.nowMicros())
        let partitionsJSON =
            "["
            + batch.partitionRanges.map {
                "{\"partition\":\($0.partition),\"first_offset\":\($0.firstOffset),\"last_offset\":\($0.lastOffset),\"messages\":\($0.messages)}"
            }.joined(separator: ",") + "]"
        return try connection.execute(
            """
            WITH diverted AS (
                SELECT count(*) FILTER (WHERE reason = 'duplicate') AS duplicates,
                       count(*) FILTER (WHERE reason = 'event_id_conflict') AS conflicts
                FROM etl.duplicate_events WHERE batch_id = $1
            )
            INSERT INTO etl.batches (
                batch_id, worker_id, topic, started_at, events, rejected, bytes, partitions,
                min_kafka_timestamp, max_kafka_timestamp, latency_p50_ms, latency_p95_ms, latency_max_ms, copy_ms,
                duplicates, conflicts, aggregated_by_worker)
            SELECT $1, $2, $3, to_timestamp($4::double precision / 1e6), $5::integer - d.duplicates - d.conflicts, $6,
                $7, $8::jsonb, to_timestamp($9::double precision / 1e3), to_timestamp($10::double precision / 1e3),
                $11, $12, $13, $14, d.duplicates, d.conflicts, $15
            FROM diverted AS d
            RETURNING \(Self.summaryColumns)
            """,
            [
                String(batch.batchID), workerID, topic, String(batch.startedAtMicros),
                String(batch.events - refusedRows),
                String(batch.rejected + refusedRows), String(batch.bytes), partitionsJSON,
                batch.minKafkaTimestampMs.map { String($0) }, batch.maxKafkaTimestampMs.map { String($0) },
                latency.map { String($0.p50Ms) }, latency.map { String($0.p95Ms) }, latency.map { String($0.maxMs) },
                String(copyMs), String(aggregated),
            ])
    }

    // MARK: - Helpers

    static let summaryColumns = "rejected, duplicates, conflicts"

    /// What the ledger row (its `summaryColumns`) says the database made of the
    /// batch: its `rejected` counts the validator's rejects plus PostgreSQL's refusals.
    static func commitSummary(_ batch: EventBatch, ledgerRow row: PQResult) throws -> CommitSummary {
        guard let rejected = row.int64(0, 0), let duplicates = row.int64(0, 1), let conflicts = row.int64(0, 2) else {
            throw PostgresError(message: "etl.batches row of batch \(batch.batchID) lacks its counts")
        }
        return CommitSummary(
            refusedRows: Int(rejected) - batch.rejected, duplicates: Int(duplicates), conflicts: Int(conflicts))
    }

    /// Daily partitions must exist before the COPY; created in their own short transaction.
    private func ensureEventPartitions(_ days: [Int32], on connection: PQConnection) throws {
        guard !days.isEmpty else { return }
        try connection.execute(
            "SELECT etl.ensure_event_partitions(ARRAY(SELECT DATE '1970-01-01' + d FROM unnest($1::int[]) AS d))",
            [postgresArray(days.map { String($0) })])
    }

    private func storedOffsets(_ partitions: [Int32], on connection: PQConnection, lock: Bool) throws -> [Int32: Int64]
    {
        let rows = try connection.execute(
            "SELECT partition, next_offset FROM etl.offsets WHERE topic = $1 AND partition = ANY($2::int[])"
                + (lock ? " FOR UPDATE" : ""),
            [topic, postgresArray(partitions.map { String($0) })])
        var offsets: [Int32: Int64] = [:]
        for row in 0..<rows.rowCount {
            if let partition = rows.value(row, 0).flatMap({ Int32($0) }), let next = rows.int64(row, 1) {
                offsets[partition] = next
            }
        }
        return offsets
    }

    /// Runs `body` on a live connection, connecting first if needed; forgets
    /// a connection that broke so the next call makes a new one.
    private func withConnection<T>(_ body: (PQConnection) throws -> T) throws -> T {
        let connection = try self.connection ?? PQConnection(databaseURL)
        self.connection = connection
        do {
            return try body(connection)
        } catch {
            if !connection.isAlive || (error as? PostgresError)?.connectionLost == true { self.connection = nil }
            throw error
        }
    }
}

extension PostgresError: RetryClassifiable {
    /// Connection losses, shutdowns, timeouts, deadlocks and data errors are
    /// retried; a schema that is missing or a privilege that is lacking is not
    /// (retrying cannot fix them: the operator must).
    public var isWorthRetrying: Bool {
        if isTransient { return true }
        guard let sqlState else { return true }
        let permanentClasses: Set<SQLState.Class> = [
            .syntaxErrorOrAccessRuleViolation, .invalidAuthorizationSpecification, .invalidCatalogName,
            .invalidSchemaName,
        ]
        return !permanentClasses.contains(sqlState.sqlClass)
    }
}
