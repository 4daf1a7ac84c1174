import LibPQ
import Logging
import PipelineCore

/// The worker aggregates the batch itself: in the batch's transaction, after its events, it
/// COPYs the batch's partial aggregates for every declaration in `etl.aggregates` (read in the
/// same transaction, so a declaration added meanwhile is never missed) and its session pieces,
/// and the ledger row says so (`aggregated_by_worker`); the refresh merges them instead of
/// reading the events back (0021).
///
/// The aggregates count what staging holds: the events that PostgreSQL refused, and the copies
/// the sink or the deduplication trigger moved to `etl.duplicate_events`, are left out. A batch
/// the worker cannot sum exactly, or a declaration it does not understand, is left to the
/// refresh, which aggregates it from staging with the same result; so is one whose rows
/// PostgreSQL refuses here (logged: that is a bug).
extension PostgresEventSink {
    static let partialsSavepoint = "pipeline_partials"
    /// Bytes of partials or pieces made before they are handed to libpq.
    static let partialsChunkBytes = 256 << 10

    /// A sum left the exact range while its COPY was under way: the COPY is abandoned, the
    /// savepoint rolled back, and the batch left to the refresh.
    struct InexactSum: Error {}

    /// Whether the batch's partial aggregates and session pieces were loaded with it.
    func shipPartialAggregates(_ batch: EventBatch, refused: RefusedRows, on connection: PQConnection) throws -> Bool {
        let inputs = batch.aggregateInputs
        guard inputs.isExact, inputs.count > 0 else { return false }
        let (declarations, sketchType) = try aggregateDeclarations(on: connection)
        guard let declarations else { return false }
        var excluded = Set(refused.eventIndices).union(refused.copies)
        if !refused.claimedByCopy { excluded.formUnion(try divertedEvents(of: batch, on: connection)) }
        // Streamed in chunks as they are made, not built whole beside the batch: a
        // high-cardinality batch has a piece per user and a sketch is up to 10 KiB.
        let refusal: PostgresError?
        do {
            refusal = try refusalUnderSavepoint(Self.partialsSavepoint, on: connection) {
                let partials = "etl.batch_partials (\(PartialAggregates.columns))"
                try copyRows(into: partials, format: .binary, on: connection) { write in
                    try PartialAggregates.writeRows(
                        of: inputs, declarations: declarations, batchID: batch.batchID, sketchType: sketchType,
                        excluding: excluded, chunkBytes: Self.partialsChunkBytes, write)
                }
                let pieces = "etl.batch_session_pieces (\(SessionPieces.columns))"
                try copyRows(into: pieces, format: .binary, on: connection) { write in
                    try SessionPieces.writeRows(
                        of: inputs, batchID: batch.batchID, excluding: excluded, chunkBytes: Self.partialsChunkBytes,
                        write)
                }
            }
        } catch is InexactSum {
            return false
        }
        if let refusal {
            logger.error(
                "PostgreSQL refused the batch's partial aggregates; the refresh aggregates it from staging",
                metadata: [
                    LogKeys.batchID: "\(batch.batchID)",
                    LogKeys.error: "\(refusal.sqlState.map { "SQLSTATE \($0): " } ?? "")\(refusal.message)",
                ])
            return false
        }
        return true
    }

    /// The batch's events the deduplication trigger moved to etl.duplicate_events (copies and
    /// conflicts), by their position among the batch's events.
    private func divertedEvents(of batch: EventBatch, on connection: PQConnection) throws -> [Int] {
        let diverted = try connection.execute(
            "SELECT kafka_partition, kafka_offset FROM etl.duplicate_events WHERE batch_id = $1",
            [String(batch.batchID)])
        guard diverted.rowCount > 0 else { return [] }
        var positions: [Int64: Int] = [:]  // partition << 48 | offset
        for (index, claim) in batch.claims.enumerated() {
            positions[Int64(claim.partition) << 48 | claim.offset] = index
        }
        return (0..<diverted.rowCount).compactMap { row in
            guard let partition = diverted.int64(row, 0), let offset = diverted.int64(row, 1) else { return nil }
            return positions[partition << 48 | offset]
        }
    }

    /// The declarations, parsed again only when their text changed (nil when one is outside
    /// the worker's vocabulary, warned about once per change), and the OID of hll's type.
    private func aggregateDeclarations(on connection: PQConnection) throws -> (
        declarations: [AggregateDeclaration]?, sketchType: UInt32
    ) {
        let result = try connection.execute(AggregateDeclaration.declarationsQuery)
        let json = result.value(0, 0) ?? "[]"
        // An OID is unsigned 32-bit (pg_type.oid); PostgreSQL prints it as such. (0 cannot
        // happen with hll installed; PostgreSQL would refuse the array, and the batch would be
        // aggregated from staging, logged.)
        let sketchType = result.value(0, 1).flatMap { UInt32($0) } ?? 0
        if let cached = declarationsCache, cached.json == json { return (cached.declarations, sketchType) }
        let declarations = AggregateDeclaration.decodeAll(json: json)
        declarationsCache = (json, declarations)
        if declarations == nil {
            logger.warning(
                "a declaration in etl.aggregates is outside what the worker can aggregate; the refresh aggregates every batch from staging"
            )
        }
        return (declarations, sketchType)
    }
}
