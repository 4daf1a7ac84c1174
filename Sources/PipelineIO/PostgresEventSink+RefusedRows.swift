import LibPQ
import PipelineCore

/// Poison pills never stall a partition: when PostgreSQL refuses the COPY of
/// rows the validator accepted, the rows it refuses are found by bisection
/// under savepoints and dead-lettered with reason `db_rejected`; the rest load
/// in the same transaction.
extension PostgresEventSink {
    struct RefusedRows {
        var rejectRows: [UInt8] = []
        var count = 0
        /// The refused events, by their position among the batch's events.
        var eventIndices: [Int] = []
        /// The events' ids were claimed by COPY: staging holds exactly the batch's events but
        /// these copies, by their position among the batch's events.
        var claimedByCopy = false
        var copies: Set<Int> = []
        /// With `claimedByCopy`: the copies are still to divert (`divertCopies`), these of them
        /// after lower lanes' batches.
        var waiting = WaitingCopies()
        /// The events went into their day partitions, where no trigger records their marks:
        /// the sink records them last (`loadInOneTransaction`).
        var marksOwed = false
    }

    static let savepoint = "pipeline_rows"

    func copyEventsIsolatingRefusedRows(_ batch: EventBatch, hints: ClaimHints, on connection: PQConnection) throws
        -> RefusedRows
    {
        var refused = RefusedRows()
        guard !batch.eventRows.isEmpty else { return refused }
        if let claimed = try copyEventsClaimingIDs(batch, hints: hints, on: connection) {
            refused.claimedByCopy = true
            refused.copies = claimed.copies
            refused.waiting = claimed.waiting
            refused.marksOwed = claimed.intoDayPartitions
            return refused
        }
        if let error = try copyUnderSavepoint(batch.eventRows[...], on: connection) {
            let rows = batch.eventRowRanges
            try isolate(rows[...], in: batch, knownRefusal: error, into: &refused, on: connection)
        }
        return refused
    }

    /// Loads the rows, or narrows down which of them PostgreSQL refuses.
    private func isolate(
        _ rows: ArraySlice<Range<Int>>, in batch: EventBatch, knownRefusal: PostgresError?,
        into refused: inout RefusedRows,
        on connection: PQConnection
    ) throws {
        guard let first = rows.first, let last = rows.last else { return }
        let refusal: PostgresError?
        if let knownRefusal {
            refusal = knownRefusal
        } else {
            refusal = try copyUnderSavepoint(batch.eventRows[first.lowerBound..<last.upperBound], on: connection)
        }
        guard let refusal else { return }
        if rows.count == 1 {
            let detail =
                "PostgreSQL refused the row: \(refusal.sqlState.map { "SQLSTATE \($0): " } ?? "")\(refusal.message)"
            refused.rejectRows += batch.rejectedRow(ofEvent: rows.startIndex, detail: detail)
            refused.count += 1
            refused.eventIndices.append(rows.startIndex)
            // SQLSTATE and primary message only: the server's DETAIL quotes the row ("Failing row
            // contains (...)"), and payload bytes stay out of logs.
            logger.warning(
                "row refused by PostgreSQL; dead-lettered as db_rejected", metadata: [LogKeys.error: "\(detail)"])
            return
        }
        let middle = rows.startIndex + rows.count / 2
        try isolate(rows[..<middle], in: batch, knownRefusal: nil, into: &refused, on: connection)
        try isolate(rows[middle...], in: batch, knownRefusal: nil, into: &refused, on: connection)
    }

    /// COPYs the rows inside a savepoint; returns PostgreSQL's refusal of the
    /// data (the savepoint rolled back), or nil when they loaded. Other errors throw.
    private func copyUnderSavepoint(_ rows: ArraySlice<UInt8>, on connection: PQConnection) throws -> PostgresError? {
        try refusalUnderSavepoint(Self.savepoint, on: connection) {
            try copy(rows, into: "staging.events (\(EventBatch.eventColumns))", format: .binary, on: connection)
        }
    }

    /// Runs `body` inside a savepoint; returns PostgreSQL's refusal of the data (everything
    /// `body` did rolled back, settings included), or nil when it went through. `InexactSum`
    /// (the worker's own refusal of partials) is rethrown after the same rollback; other errors
    /// throw as they are.
    func refusalUnderSavepoint(_ name: String, on connection: PQConnection, _ body: () throws -> Void) throws
        -> PostgresError?
    {
        try connection.execute("SAVEPOINT \(name)")
        do {
            try body()
            try connection.execute("RELEASE SAVEPOINT \(name)")
            return nil
        } catch let error as PostgresError where error.isRefusalOfData {
            try rollBack(to: name, on: connection)
            return error
        } catch let error as InexactSum {
            try rollBack(to: name, on: connection)
            throw error
        }
    }

    /// Undoes what the savepoint `name` covers and drops it; the transaction goes on.
    private func rollBack(to name: String, on connection: PQConnection) throws {
        try connection.execute("ROLLBACK TO SAVEPOINT \(name)")
        try connection.execute("RELEASE SAVEPOINT \(name)")
    }
}

extension PostgresError {
    /// PostgreSQL refused the data itself (data exception, integrity constraint,
    /// program limit): retrying the same rows cannot help, isolating them can.
    var isRefusalOfData: Bool {
        guard !connectionLost, let sqlState else { return false }
        let refusedRowClasses: Set<PostgresError.SQLState.Class> = [
            .dataException, .integrityConstraintViolation, .programLimitExceeded,
        ]
        return refusedRowClasses.contains(sqlState.sqlClass)
    }
}
