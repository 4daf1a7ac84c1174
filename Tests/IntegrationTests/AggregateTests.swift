import Foundation
import LibPQ
import Testing

/// The incremental aggregates, checked row for row against answers computed
/// in Swift from the produced events (AggregateEvents.swift), after the real
/// worker loaded them.
@Suite("incremental aggregates in SQL", .serialized)
struct AggregateTests {
    /// 2026-01-01T00:00:00Z: the streams straddle this day (and year) boundary.
    static let midnight = AggregateEvent.epochMs(2026, 1, 1)
    static let minute: Int64 = 60_000

    @Test("out of order, across a day boundary, late beyond the watermark, a 2024 replay: row for row")
    func rowForRow() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("agg")
        var stream = AggregateEventStream(seed: 41)

        // Phase 1: two hours around midnight, shuffled (out of order), in one batch.
        let first = stream.events(
            count: 3000, fromMs: Self.midnight - 60 * Self.minute, toMs: Self.midnight + 60 * Self.minute)
        try kafka.produce(first.map(\.message))
        var run = WorkerRun(kafka: kafka, database: database)
        // One batch per phase: closed by size (the count produced), not by the interval; one lane,
        // so the phase is one transaction (the counts of etl.batches below, and late events judged
        // against the watermark of the batches before).
        run.connections = 1
        run.configuration.intervalMs = 30_000
        run.configuration.maxBatchEvents = first.count
        #expect(try run.run().events == first.count)
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 1)
        #expect(
            try database.count("SELECT etl.refresh_aggregates()")
                == ExpectedAggregates.eventsPerMinute(first).keys.map(\.bucket).uniqueCount)
        try expectAggregates(equal: first, in: database)

        // Phase 2 (one batch): late events far beyond the watermark (30 minutes
        // before phase 1 began), events within the allowed lateness, and a
        // replay of 2024. None is newer than phase 1, so the watermark stays.
        let maxTime = first.map(\.timeMs).max()!
        let watermark = maxTime - 5 * Self.minute
        let late = stream.events(
            count: 400, fromMs: Self.midnight - 90 * Self.minute, toMs: Self.midnight - 70 * Self.minute)
        let withinLateness = stream.events(count: 100, fromMs: watermark, toMs: maxTime)
        let replay = stream.events(
            count: 500, fromMs: AggregateEvent.epochMs(2024, 3, 1), toMs: AggregateEvent.epochMs(2024, 3, 2), users: 10)
        let second = stream.shuffle(late + withinLateness + replay)
        try kafka.produce(second.map(\.message))
        run.configuration.workerID = "second"
        run.configuration.maxBatchEvents = second.count
        #expect(try run.run().events == second.count)
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 2)
        #expect(try database.count("SELECT etl.refresh_aggregates()") > 0)
        #expect(try database.count("SELECT count(*) FROM etl.dirty_minutes") == 0)
        try expectAggregates(equal: first + second, in: database)

        // Late: every event of a 1-minute window that ended at or below the watermark.
        let expectedLate = Dictionary(
            grouping: second.filter { ($0.minuteBucket + 60) * 1000 <= watermark }, by: \.minuteBucket
        )
        .mapValues(\.count)
        let lateRows = try database.connect().execute(
            "SELECT extract(epoch FROM bucket)::bigint, late_events FROM analytics.late_events_per_minute")
        var foundLate: [Int64: Int] = [:]
        for row in 0..<lateRows.rowCount { foundLate[lateRows.int64(row, 0)!] = Int(lateRows.int64(row, 1)!) }
        #expect(foundLate == expectedLate)
        #expect(foundLate.values.reduce(0, +) == late.count + replay.count)
        #expect(
            try database.scalar(
                "SELECT watermark = to_timestamp($1::double precision / 1000) FROM analytics.watermarks",
                [String(watermark)]) == "t")

        // Rollups add up to the 1-minute table and the stream.
        for view in ["analytics.events_per_5_minutes", "analytics.events_per_hour", "analytics.daily_summary"] {
            if view == "analytics.daily_summary" { _ = try database.scalar("SELECT etl.refresh_materialized_views()") }
            #expect(try database.count("SELECT sum(events) FROM \(view)") == first.count + second.count, "\(view)")
        }
        #expect(
            try database.count("SELECT sum(views) FROM analytics.page_views_per_minute")
                == (first + second).filter { $0.type == "page_view" }.count)
        #expect(
            try database.count("SELECT sum(events) FROM analytics.logs_per_minute")
                == (first + second).filter { $0.type == "log" }.count)
        #expect(try database.count("SELECT count(*) FROM analytics.events_per_hour WHERE is_final") > 0)
        #expect(try database.count("SELECT count(*) FROM analytics.events_per_hour WHERE NOT is_final") > 0)

        // A rebuild (after an aggregate's definition changed) gives the same rows.
        try database.connect().execute("TRUNCATE etl.agg_events_1m, etl.agg_revenue_1m, etl.agg_user_sessions")
        #expect(try database.count("SELECT etl.rebuild_aggregates('2024-03-01', '2024-03-02')") == 24 * 60)
        #expect(try database.count("SELECT etl.rebuild_aggregates('2025-12-31 22:00Z', '2026-01-01 02:00Z')") == 4 * 60)
        try expectAggregates(equal: first + second, in: database)
    }

    @Test("a batch that rolls back leaves no marks and changes no bucket")
    func rolledBackBatch() throws {
        let database = try TestDatabase.migrated("aggrb")
        let connection = try database.connect()
        var stream = AggregateEventStream(seed: 42)
        let kept = stream.events(count: 200, fromMs: Self.midnight, toMs: Self.midnight + 10 * Self.minute)
        try insert(kept, batchID: 1, on: connection)
        #expect(try database.count("SELECT etl.refresh_aggregates()") > 0)
        try expectAggregates(equal: kept, in: database)

        // Same buckets and new ones, in a transaction that fails after the COPY-like insert.
        let doomed = stream.events(
            count: 300, fromMs: Self.midnight - 5 * Self.minute, toMs: Self.midnight + 20 * Self.minute)
        try connection.execute("BEGIN")
        try insert(doomed, batchID: 2, on: connection)
        #expect(try connection.execute("SELECT count(*) FROM etl.dirty_minutes").int64(0, 0)! > 0)
        try connection.execute("ROLLBACK")
        #expect(try database.count("SELECT count(*) FROM etl.dirty_minutes") == 0)
        #expect(try database.count("SELECT count(*) FROM etl.dirty_users") == 0)
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 0)
        try expectAggregates(equal: kept, in: database)
    }

    @Test("two refreshes at once: the second returns 0 at once, nothing is lost or applied twice")
    func concurrentRefreshes() throws {
        let database = try TestDatabase.migrated("aggcc")
        var stream = AggregateEventStream(seed: 43)
        let before = stream.events(count: 500, fromMs: Self.midnight, toMs: Self.midnight + 30 * Self.minute)
        try insert(before, batchID: 1, on: database.connect())

        let holder = try database.connect()
        try holder.execute("BEGIN")
        let first = try holder.execute("SELECT etl.refresh_aggregates()").int64(0, 0)!
        #expect(first == Int64(ExpectedAggregates.eventsPerMinute(before).keys.map(\.bucket).uniqueCount))
        // While the first refresh's transaction is open: a second refresh skips,
        // and a batch commits new events in buckets the first one recomputed.
        let started = Date()
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 0)
        #expect(Date().timeIntervalSince(started) < 2)
        // ...while one that waits blocks until the first commits.
        let waiter = try database.connect()
        try waiter.execute("SET lock_timeout = '300ms'")
        #expect(throws: PostgresError.self) { try waiter.execute("SELECT etl.refresh_aggregates(true)") }
        let during = stream.events(
            count: 300, fromMs: Self.midnight + 10 * Self.minute, toMs: Self.midnight + 40 * Self.minute)
        try insert(during, batchID: 2, on: database.connect())
        try holder.execute("COMMIT")

        try expectAggregates(equal: before, in: database)
        #expect(try database.count("SELECT etl.refresh_aggregates()") > 0)
        try expectAggregates(equal: before + during, in: database)
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 0)

        // Many refreshes racing on threads against one more batch: the result is still exact.
        let racing = stream.events(count: 300, fromMs: Self.midnight, toMs: Self.midnight + 60 * Self.minute)
        try insert(racing, batchID: 3, on: database.connect())
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            _ = try? database.scalar("SELECT etl.refresh_aggregates()")
        }
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        try expectAggregates(equal: before + during + racing, in: database)
    }

    @Test("grafana_reader reads analytics and nothing in staging or etl")
    func readerRole() throws {
        let database = try TestDatabase.migrated("aggrole")
        let connection = try database.connect()
        try connection.execute("SET ROLE grafana_reader")
        for view in [
            "analytics.events_per_minute", "analytics.revenue_per_minute", "analytics.events_per_hour",
            "analytics.user_sessions", "analytics.late_events_per_minute", "analytics.pipeline_throughput_per_minute",
            "analytics.pipeline_offsets", "analytics.pipeline_last_commit", "analytics.daily_summary",
        ] {
            _ = try connection.execute("SELECT * FROM \(view) LIMIT 1")
        }
        for forbidden in [
            "SELECT * FROM staging.events", "SELECT * FROM etl.offsets", "SELECT etl.refresh_aggregates()",
        ] {
            #expect(throws: PostgresError.self) { try connection.execute(forbidden) }
        }
    }

    @Test("every sql/*.sql runs in psql -X -v ON_ERROR_STOP=1 against a migrated database with data")
    func psqlQueries() throws {
        let database = try TestDatabase.migrated("aggsql")
        let connection = try database.connect()
        var stream = AggregateEventStream(seed: 44)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        try insert(stream.events(count: 500, fromMs: nowMs - 90 * Self.minute, toMs: nowMs), batchID: 1, on: connection)
        try connection.execute(
            """
            INSERT INTO etl.rejected_events (kafka_topic, kafka_partition, kafka_offset, raw, reason, detail, batch_id)
            VALUES ('events', 0, 1000, '\\xc328'::bytea, 'invalid_utf8', 'byte 1', 1)
            """)
        try connection.execute(
            "INSERT INTO etl.offsets (topic, partition, next_offset, updated_by) VALUES ('events', 0, 1001, 't')")
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        let folder = repositoryRoot + "/sql"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count >= 8)
        for file in files {
            #expect(try psql(["-d", database.url, "-f", folder + "/" + file]) == 0, "psql -f sql/\(file)")
        }
    }

    @Test("cron/pg_cron.sql schedules the jobs in the pipeline's database, and pg_cron runs the refresh")
    func pgCronRunsRefresh() async throws {
        let database = try TestDatabase.migrated("aggcron")
        let serverURL = try TestDatabase.serverURL()
        let server = try PQConnection(serverURL)
        guard try server.execute("SHOW shared_preload_libraries").value(0, 0)?.contains("pg_cron") == true else {
            throw TestSetupError(
                "pg_cron is not loaded: scripts/test preloads it when postgresql-NN-cron is installed (scripts/install-deps)"
            )
        }
        #expect(
            try psql([
                "-d", serverURL, "-v", "pipeline_database=\(database.name)", "-f", repositoryRoot + "/cron/pg_cron.sql",
            ]) == 0)
        defer {
            _ = try? server.execute("SELECT cron.unschedule(jobid) FROM cron.job WHERE database = $1", [database.name])
        }
        let jobs = try server.execute(
            "SELECT jobname FROM cron.job WHERE database = $1 ORDER BY jobname", [database.name])
        #expect(
            (0..<jobs.rowCount).compactMap { jobs.value($0, 0) } == [
                "pipeline-drop-old-partitions", "pipeline-ensure-partitions", "pipeline-prune-event-ids",
                "pipeline-refresh-aggregates", "pipeline-refresh-materialized-views",
            ])

        // pg_cron 1.4 runs at most once a minute: the next minute's run clears the marks.
        var stream = AggregateEventStream(seed: 45)
        let events = stream.events(count: 100, fromMs: Self.midnight, toMs: Self.midnight + 5 * Self.minute)
        try insert(events, batchID: 1, on: database.connect())
        #expect(try database.count("SELECT count(*) FROM etl.dirty_minutes") > 0)
        try await waitUntil(seconds: 80) { try database.count("SELECT count(*) FROM etl.dirty_minutes") == 0 }
        try expectAggregates(equal: events, in: database)
        try await waitUntil(seconds: 10) {
            let succeeded = try server.execute(
                """
                SELECT count(*) FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
                WHERE j.database = $1 AND j.jobname = 'pipeline-refresh-aggregates' AND d.status = 'succeeded'
                """, [database.name])
            return (succeeded.int64(0, 0) ?? 0) > 0
        }
    }

    // MARK: - Helpers

    /// Runs `psql -X -q -v ON_ERROR_STOP=1 ARGS...`, output discarded; returns its exit status.
    private func psql(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

extension Array where Element: Hashable {
    var uniqueCount: Int { Set(self).count }
}
