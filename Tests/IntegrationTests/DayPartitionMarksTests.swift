import Foundation
import LibPQ
import Testing

/// A batch whose ids were all claimed by COPY goes straight into its day partitions, where no
/// trigger of staging.events fires, and the worker records its marks itself
/// (etl.record_batch_marks). What a user reads afterwards must not tell the two ways apart: the
/// same batches loaded through the trigger leave the same late events, watermarks, dirty minutes
/// and aggregates.
@Suite("marks of batches loaded into the day partitions", .serialized)
struct DayPartitionMarksTests {
    static let midnight = AggregateEvent.epochMs(2026, 1, 1)
    static let minute: Int64 = 60_000

    /// Three batches: one day; two days with late events; a replay of three days in 2024 with
    /// events within the allowed lateness.
    static func phases() -> [[AggregateEvent]] {
        var stream = AggregateEventStream(seed: 73)
        let first = stream.events(count: 300, fromMs: midnight - 40 * minute, toMs: midnight - 10 * minute)
        let acrossMidnight = stream.shuffle(
            stream.events(count: 100, fromMs: midnight - 60 * minute, toMs: midnight - 50 * minute)
                + stream.events(count: 200, fromMs: midnight - 20 * minute, toMs: midnight + 20 * minute))
        let replay = stream.shuffle(
            stream.events(
                count: 150, fromMs: AggregateEvent.epochMs(2024, 3, 1), toMs: AggregateEvent.epochMs(2024, 3, 4),
                users: 10)
                + stream.events(count: 50, fromMs: midnight + 12 * minute, toMs: midnight + 25 * minute))
        return [first, acrossMidnight, replay]
    }

    @Test("late events, watermarks, dirty minutes and aggregates equal the trigger's for the same batches")
    func marksEqualTheTriggers() throws {
        let kafka = try KafkaFixture(partitions: 1)
        defer { withExtendedLifetime(kafka) {} }
        let phases = Self.phases()
        let direct = try TestDatabase.migrated("marks_direct")
        let viaTrigger = try TestDatabase.migrated("marks_trigger")
        for database in [direct, viaTrigger] { try ParentStatements.startCounting(in: database) }
        try Self.sendEveryRowToAWrongPartition(viaTrigger, events: phases.flatMap { $0 })

        for phase in phases {
            try kafka.produce(phase.map(\.message))
            for database in [direct, viaTrigger] {
                var run = WorkerRun(kafka: kafka, database: database)
                // One batch per phase (closed by size, one lane): late events are judged against
                // the batches before, so both databases must see the same batches.
                run.connections = 1
                run.configuration.intervalMs = 30_000
                run.configuration.maxBatchEvents = phase.count
                #expect(try run.run().events == phase.count)
            }
        }
        let batches = "SELECT batch_id, partitions::text, events FROM etl.batches ORDER BY 1"
        #expect(try rows(batches, direct).count == phases.count)
        #expect(try rows(batches, direct) == rows(batches, viaTrigger), "the same batches in both")
        #expect(try ParentStatements.count(in: direct) == 0, "every batch COPYed into its day partitions")
        #expect(
            try ParentStatements.count(in: viaTrigger) == phases.count,
            "every batch refused by the wrong partition (23514), then loaded through the parent")

        let late = "SELECT topic, bucket, batch_id, events, watermark FROM etl.late_events ORDER BY 1, 2, 3"
        #expect(try Set(rows(late, direct).map { $0[2] }) == ["2", "3"], "late events in the second and third batch")
        for query in [
            late, "SELECT topic, max_event_time FROM etl.watermarks ORDER BY 1",
            // the claims: COPYed by the worker (binary) in one, made by the trigger in the other
            "SELECT event_id, event_time, kafka_topic, kafka_partition, kafka_offset FROM etl.event_ids ORDER BY 1",
            "SELECT bucket, batch_id, count(*) FROM etl.dirty_minutes GROUP BY 1, 2 ORDER BY 1, 2",
            // ingested_at aside: each row in the same partition with the same content
            "SELECT count(*), sum(hashtext(concat_ws('|', e.tableoid::regclass, e.event_id, e.payload, e.batch_id))) FROM staging.events AS e",
        ] {
            #expect(try rows(query, direct) == rows(query, viaTrigger), "\(query)")
        }
        #expect(try rows("SELECT * FROM etl.dirty_minutes", direct).count > 100)

        for database in [direct, viaTrigger] {
            #expect(try database.count("SELECT etl.refresh_aggregates()") > 0)
        }
        for table in ["etl.agg_events_1m", "etl.agg_events_1h", "etl.agg_revenue_1m", "etl.agg_user_sessions"] {
            let query = "SELECT t::text FROM \(table) AS t ORDER BY 1"
            #expect(try !rows(query, direct).isEmpty)
            #expect(try rows(query, direct) == rows(query, viaTrigger), "\(table)")
        }
    }

    @Test("a day partition the worker may not write: the batch loads through the parent, marks and all")
    func unwritablePartition() throws {
        let kafka = try KafkaFixture(partitions: 1)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("marks_unwritable")
        try ParentStatements.startCounting(in: database)
        // As if created by hand, by a role whose default privileges grant nothing.
        let owner = try database.connect()
        try owner.execute("SELECT etl.ensure_event_partitions(ARRAY[DATE '2025-12-31'])")
        try owner.execute("REVOKE INSERT ON staging.events_p20251231 FROM pipeline_writer")
        let events = Self.phases()[1]  // two days, one of them 2025-12-31
        try kafka.produce(events.map(\.message))
        var run = WorkerRun(kafka: kafka, database: database)
        run.databaseURL = LeastPrivilegeTests.url(database, as: "pipeline_writer")
        run.connections = 1
        run.configuration.intervalMs = 30_000
        run.configuration.maxBatchEvents = events.count
        #expect(try run.run().events == events.count)
        #expect(try ParentStatements.count(in: database) == 1, "one COPY into the parent")
        #expect(try database.count("SELECT count(*) FROM staging.events") == events.count)
        #expect(
            try database.count("SELECT count(DISTINCT bucket) FROM etl.dirty_minutes")
                == Set(events.map(\.minuteBucket)).count, "the trigger marked every minute")
    }

    /// Creates every day's partition the events need, then names the partition of 1970-01-01 for
    /// every day: the worker's COPY into it fails its partition constraint (23514), and the batch
    /// loads the old way, through the parent and its triggers.
    static func sendEveryRowToAWrongPartition(_ database: TestDatabase, events: [AggregateEvent]) throws {
        let connection = try database.connect()
        let days = Set(events.map { AggregateEvent.rfc3339($0.timeMs / 86_400_000 * 86_400_000).prefix(10) })
        try connection.execute(
            "SELECT etl.ensure_event_partitions($1::date[] || DATE '1970-01-01')",
            ["{" + days.sorted().joined(separator: ",") + "}"])
        try connection.execute(
            """
            CREATE OR REPLACE FUNCTION etl.event_partition(p_day date) RETURNS text
            LANGUAGE sql STABLE SET search_path = '' AS $$ SELECT 'staging.events_p19700101' $$
            """)
    }

    /// The query's rows, each a list of text values.
    private func rows(_ sql: String, _ database: TestDatabase) throws -> [[String?]] {
        let result = try database.connect().execute(sql)
        return (0..<result.rowCount).map { row in (0..<result.columnCount).map { result.value(row, $0) } }
    }
}
