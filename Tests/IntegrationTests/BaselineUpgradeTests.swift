import Foundation
import LibPQ
import PipelineIO
import Testing

/// 0018_baseline.sql squashed the released 0001-0018 files (kept here as a fixture archive) into
/// tables in one file and a definition per function, view and trigger. A database those files
/// built must upgrade with its data, and end with the schema a fresh database gets.
@Suite("the 0018 baseline against databases the released migrations built", .serialized)
struct BaselineUpgradeTests {
    static let midnight = AggregateEvent.epochMs(2026, 1, 1)
    static let minute: Int64 = 60_000

    @Test(
        "a database at the released 0018 upgrades: history recorded as the baseline, aggregates intact and exact after more events, schema equal to a fresh one"
    )
    func upgradesReleasedDatabase() throws {
        let released = try ReleasedMigrations.extract()
        defer { released.remove() }
        let old = try TestDatabase.create("upgrade")
        try Migrator(connection: old.connect(), migrations: MigrationSource.directory(released.path).load()).migrate()
        var stream = AggregateEventStream(seed: 71)
        let before = stream.events(count: 900, fromMs: Self.midnight, toMs: Self.midnight + 90 * Self.minute)
        try insert(before, batchID: 1, on: old.connect())
        _ = try old.scalar("SELECT etl.refresh_aggregates()")
        let aggregatesBefore = try aggregateViews(in: old)

        let outcome = try Migrator(
            connection: old.connect(), migrations: MigrationSource.directory(repositoryMigrationsPath).load()
        ).migrate()
        #expect(outcome.adoptedBaseline?.fileName == "0018_baseline.sql")
        // The baseline stands for 0001-0018; every versioned file after it is applied on its own.
        let versionedAfterBaseline = try FileManager.default.contentsOfDirectory(atPath: repositoryMigrationsPath)
            .filter { $0.hasSuffix(".sql") && $0 > "0018_baseline.sql" }.sorted()
            .map { String(Int($0.prefix(4))!) + $0.dropFirst(4).dropLast(4) }
        #expect(versionedAfterBaseline.first == "19_count_distinct_with_hll")
        #expect(
            try old.scalar("SELECT string_agg(version || '_' || name, ',' ORDER BY version) FROM etl.schema_migrations")
                == (["18_baseline"] + versionedAfterBaseline).joined(separator: ",")
        )
        #expect(try aggregateViews(in: old) == aggregatesBefore)

        // The upgraded functions and triggers go on from where the old ones stopped.
        let after = stream.events(
            count: 300, fromMs: Self.midnight + 60 * Self.minute, toMs: Self.midnight + 150 * Self.minute)
        try insert(after, batchID: 2, on: old.connect())
        _ = try old.scalar("SELECT etl.refresh_aggregates()")
        try expectAggregates(equal: before + after, in: old)

        // The same daily partitions as the loaded database, then the same schema to the line.
        // The day of staging.events loaded before the upgrade keeps the one table the released
        // functions made it (an upgrade does not move loaded rows); days created since are split
        // by Kafka partition (etl.ensure_event_partitions), so the fresh database gets that day as
        // the old one has it.
        let fresh = try TestDatabase.migrated("fresh")
        let stagingDays = try days(in: old, schema: "staging", prefix: "events_p")
        #expect(stagingDays == "{2026-01-01}")
        _ = try fresh.scalar(
            """
            CREATE TABLE staging.events_p20260101 PARTITION OF staging.events
            FOR VALUES FROM ('2026-01-01 00:00+00') TO ('2026-01-02 00:00+00')
            """)
        _ = try fresh.scalar(
            "SELECT etl.ensure_session_partitions($1::date[])",
            [try days(in: old, schema: "etl", prefix: "agg_user_sessions_p")])
        #expect(try schema(of: old) == schema(of: fresh))
    }

    @Test("a database part-way through the released files is refused, naming what to do")
    func refusesPartialHistory() throws {
        let released = try ReleasedMigrations.extract()
        defer { released.remove() }
        let database = try TestDatabase.create("partial")
        let files = try MigrationSource.directory(released.path).load()
        try Migrator(
            connection: database.connect(),
            migrations: MigrationSet(versioned: files.versioned.filter { $0.version <= 15 })
        ).migrate()
        let error = #expect(throws: MigrationError.self) {
            try Migrator(
                connection: database.connect(), migrations: MigrationSource.directory(repositoryMigrationsPath).load()
            )
            .migrate()
        }
        #expect(error?.message.contains("up to 0015_create_incremental_rollups") == true)
        #expect(error?.remedy.contains("with a release that still has those files") == true)
    }

    /// Every aggregate view's rows (what users read, whatever the tables under it hold), as one text value.
    private func aggregateViews(in database: TestDatabase) throws -> String? {
        try database.scalar(
            """
            SELECT string_agg(t.relname || ':' || t.rows, ' | ' ORDER BY t.relname)
            FROM (SELECT c.relname,
                         (xpath('/row/r/text()', query_to_xml(format(
                             'SELECT md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) AS r FROM analytics.%I AS x',
                             ';', '', c.relname), false, false, '')))[1]::text AS rows
                  FROM pg_class AS c
                  WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind IN ('v', 'm')
                    AND c.relname NOT LIKE 'pipeline\\_%') AS t
            """)
    }

    /// The days of a schema's daily partitions named `prefix` followed by the day, as a date array's text.
    private func days(in database: TestDatabase, schema: String, prefix: String) throws -> String? {
        try database.scalar(
            """
            SELECT array_agg(to_date(right(relname, 8), 'YYYYMMDD') ORDER BY relname)::text FROM pg_class
            WHERE relnamespace = $1::regnamespace AND relname ~ ('^' || $2 || '[0-9]{8}$')
            """, [schema, prefix])
    }

    /// `pg_dump --schema-only`, less the lines that name the database or change every run.
    private func schema(of database: TestDatabase) throws -> String {
        let file = NSTemporaryDirectory() + "schema-\(UUID().uuidString).sql"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try PipelineBinary.capture("/usr/bin/pg_dump", ["--schema-only", "-f", file, database.url])
        #expect(result.status == 0, "pg_dump failed: \(result.output)")
        return try String(contentsOfFile: file, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false
        )
        .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") && !$0.hasPrefix("-- Dumped") }
        .joined(separator: "\n")
    }
}

/// The released 0001-0018 migration files, unpacked from the fixture archive into a temporary folder.
struct ReleasedMigrations {
    let path: String

    static func extract() throws -> ReleasedMigrations {
        let path = NSTemporaryDirectory() + "released-migrations-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let archive = repositoryRoot + "/Tests/IntegrationTests/Fixtures/released-migrations-0001-0018.tar.gz"
        let result = try PipelineBinary.capture("/usr/bin/tar", ["-xzf", archive, "-C", path])
        guard result.status == 0 else { throw TestSetupError("tar -xzf \(archive) failed: \(result.output)") }
        return ReleasedMigrations(path: path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
