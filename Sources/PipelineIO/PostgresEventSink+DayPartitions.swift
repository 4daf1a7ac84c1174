import LibPQ
import PipelineCore

/// A batch whose event ids were all claimed by COPY goes straight into its day partitions of
/// `staging.events`, not into the parent, and the worker records its marks itself
/// (PostgresEventSink+Marks).
///
/// Why: the parent's two statement triggers have transition tables, and with those PostgreSQL
/// COPYs into a partitioned table row by row and keeps every row for them. A COPY into a
/// partition fires no statement trigger of the parent. Measured on 300 000 high-cardinality
/// events: 2.6–3.5 s into the parent with its triggers, 1.66–1.92 s into the day's partition.
/// Neither trigger is missed: the deduplication trigger has nothing to do for a batch whose ids
/// were all claimed, and what the marking trigger records, `etl.record_batch_marks` records
/// from the batch's summary (the marking trigger calls the same function).
///
/// The partitions' names come from `etl.event_partition`, the function that names them when
/// they are created. A row COPYed into the wrong one fails its partition constraint (23514):
/// the claims' savepoint rolls back, and the batch loads through the parent as before.
extension PostgresEventSink {
    /// The partition of each of the batch's days (in `batch.days` order), or nil when this role
    /// may not INSERT into one of them (say, one created by hand without the grants the default
    /// privileges give): the batch then goes through the parent, as before, and a warning says why.
    func writableDayPartitions(of batch: EventBatch, on connection: PQConnection) throws -> [String]? {
        let rows = try connection.execute(
            """
            SELECT p.name, coalesce(has_table_privilege(to_regclass(p.name), 'INSERT'), false)
            FROM unnest($1::int[]) WITH ORDINALITY AS d(day, position)
            CROSS JOIN LATERAL (SELECT etl.event_partition(DATE '1970-01-01' + d.day) AS name) AS p
            ORDER BY d.position
            """, [postgresArray(batch.days.map { String($0) })])
        var names: [String] = []
        for row in 0..<rows.rowCount {
            guard let name = rows.value(row, 0), rows.value(row, 1) == "t" else {
                if !warnedOfUnwritablePartition {
                    warnedOfUnwritablePartition = true
                    logger.warning(
                        "a partition of staging.events is missing or not writable by this role; batches load through the parent, more slowly (GRANT INSERT on it)",
                        metadata: [LogKeys.table: "\(rows.value(row, 0) ?? "")"])
                }
                return nil
            }
            names.append(name)
        }
        return names.count == batch.days.count ? names : nil
    }

    /// COPYs each day's rows, but the copies', into that day's partition, one COPY per day.
    func copy(
        _ batch: EventBatch, excluding copies: Set<Int>, intoDayPartitions partitions: [String],
        on connection: PQConnection
    ) throws {
        for (day, partition) in zip(batch.days, partitions) {
            // The name is etl.event_partition's, qualified and quoted by format('%I').
            try copyRows(into: "\(partition) (\(EventBatch.eventColumns))", format: .binary, on: connection) { write in
                try batch.writeEventRows(ofDay: day, excluding: copies, chunkBytes: Self.copyChunkBytes, write)
                return true
            }
        }
    }
}
