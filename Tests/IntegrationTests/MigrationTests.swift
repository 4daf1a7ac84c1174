import Foundation
import LibPQ
@testable import PipelineIO
import Testing

@Suite("pipeline migrate against a real PostgreSQL")
struct MigrationTests {
    let files = try! MigrationSource.directory(repositoryMigrationsPath).load()

    @Test("applies every file once, in order, and a second run applies nothing")
    func appliesOnce() throws {
        let database = try TestDatabase.create("migrate")
        let connection = try database.connect()
        let migrator = try Migrator(connection: connection, migrations: files)
        let first = try migrator.migrate()
        #expect(first.versioned.map(\.version) == files.versioned.map(\.version))
        #expect(first.repeatable.map(\.path) == files.repeatable.map(\.path))
        #expect(try migrator.migrate().isEmpty)
        #expect(try database.count("SELECT count(*) FROM etl.schema_migrations") == files.versioned.count)
        #expect(try database.count("SELECT count(*) FROM etl.schema_repeatables") == files.repeatable.count)
        let status = try migrator.status()
        #expect(status.pending.isEmpty && status.pendingRepeatable.isEmpty)
        #expect(status.applied.map(\.version) == files.versioned.map(\.version))
        for table in ["etl.offsets", "etl.batches", "etl.rejected_events", "etl.gaps", "staging.events"] {
            #expect(try database.scalar("SELECT to_regclass($1)::text", [table]) == table)
        }
    }

    @Test("every file applies twice on an empty database (idempotent DDL)")
    func filesAreRerunnable() throws {
        let database = try TestDatabase.create("rerun")
        let connection = try database.connect()
        for migration in files.versioned {
            try connection.executeScript(migration.sql)
            try connection.executeScript(migration.sql)
        }
        // The definitions once in the migrator's order (views need the views they read), then again.
        try Migrator(connection: connection, migrations: files).migrate()
        for definition in files.repeatable { try connection.executeScript(definition.sql) }
    }

    @Test("one live definition per function and view: no file defines an object another file defines")
    func oneDefinitionEach() throws {
        let pattern = try Regex(
            #"CREATE (OR REPLACE )?(FUNCTION|VIEW|MATERIALIZED VIEW( IF NOT EXISTS)?|TRIGGER) ([a-z_.]+)"#)
        var definedIn: [String: [String]] = [:]
        for (path, sql) in files.versioned.map({ ($0.fileName, $0.sql) }) + files.repeatable.map({ ($0.path, $0.sql) })
        {
            for match in sql.matches(of: pattern) {
                let name = String(match.output[4].substring ?? "")
                if !name.hasPrefix("pg_temp") { definedIn[name, default: []].append(path) }
            }
        }
        for (name, paths) in definedIn { #expect(Set(paths).count == 1, "\(name) is defined in \(paths)") }
        #expect(files.versioned.allSatisfy { !$0.sql.contains("CREATE OR REPLACE FUNCTION") })
    }

    @Test("a changed definition is applied again, alone; a broken one names its file and applies nothing")
    func changedDefinition() throws {
        let database = try TestDatabase.create("repeatable")
        try Migrator(connection: database.connect(), migrations: files).migrate()
        var edited = files
        let index = try #require(edited.repeatable.firstIndex { $0.path == "views/analytics.events_per_minute.sql" })
        edited.repeatable[index].sql += "\nCOMMENT ON VIEW analytics.events_per_minute IS 'edited';\n"
        let outcome = try Migrator(connection: database.connect(), migrations: edited).migrate()
        #expect(outcome.versioned.isEmpty)
        #expect(outcome.repeatable.map(\.path) == ["views/analytics.events_per_minute.sql"])
        #expect(try database.scalar("SELECT obj_description('analytics.events_per_minute'::regclass)") == "edited")

        var broken = edited
        broken.repeatable[index].sql += "\nCOMMENT ON VIEW analytics.no_such_view IS 'x';\n"
        let other = try #require(broken.repeatable.firstIndex { $0.path == "views/analytics.watermarks.sql" })
        broken.repeatable[other].sql += "\nCOMMENT ON VIEW analytics.watermarks IS 'not applied';\n"
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: broken).migrate()
        }
        #expect(error?.message.contains("views/analytics.events_per_minute.sql failed") == true)
        #expect(try database.scalar("SELECT obj_description('analytics.watermarks'::regclass)") != "not applied")
    }

    @Test("views are applied in the order their dependencies need, whatever their names")
    func viewOrder() throws {
        let database = try TestDatabase.create("vieworder")
        try Migrator(connection: database.connect(), migrations: files).migrate()
        var more = files
        more.repeatable += [
            RepeatableMigration(
                kind: .view, path: "views/analytics.a_top.sql",
                sql: "CREATE OR REPLACE VIEW analytics.a_top AS SELECT * FROM analytics.b_middle;"),
            RepeatableMigration(
                kind: .view, path: "views/analytics.b_middle.sql",
                sql: "CREATE OR REPLACE VIEW analytics.b_middle AS SELECT bucket FROM analytics.events_per_minute;"),
        ]
        let outcome = try Migrator(
            connection: database.connect(),
            migrations: MigrationSet(versioned: more.versioned, repeatable: more.repeatable)
        ).migrate()
        #expect(Set(outcome.repeatable.map(\.path)) == ["views/analytics.a_top.sql", "views/analytics.b_middle.sql"])
        #expect(try database.scalar("SELECT to_regclass('analytics.a_top')::text") == "analytics.a_top")
    }

    @Test("refuses to run when an applied file has changed")
    func refusesChangedFile() throws {
        let database = try TestDatabase.create("changed")
        try Migrator(connection: database.connect(), migrations: files).migrate()
        var edited = files
        edited.versioned[0].sql += "\n-- an edit after merge\n"
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: edited).migrate()
        }
        #expect(error?.message.contains("\(files.versioned[0].fileName) has changed") == true)
    }

    @Test("refuses to run when an applied file is missing")
    func refusesMissingFile() throws {
        let database = try TestDatabase.create("missing")
        let later = Migration(version: 9000, name: "add_nothing", sql: "SELECT 1;")
        try Migrator(
            connection: database.connect(),
            migrations: MigrationSet(versioned: files.versioned + [later], repeatable: files.repeatable)
        ).migrate()
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: files).migrate()
        }
        #expect(
            error?.message.contains("9000_add_nothing.sql is applied in this database but its file is missing") == true)
    }

    @Test("refuses a pending file numbered below an applied one")
    func refusesOutOfOrder() throws {
        let database = try TestDatabase.create("order")
        let first = Migration(version: 9000, name: "add_first", sql: "SELECT 1;")
        let second = Migration(version: 9001, name: "add_second", sql: "SELECT 2;")
        try Migrator(
            connection: database.connect(),
            migrations: MigrationSet(versioned: files.versioned + [second], repeatable: files.repeatable)
        ).migrate()
        let error = #expect(throws: MigrationError.self) {
            try Migrator(
                connection: database.connect(),
                migrations: MigrationSet(versioned: files.versioned + [first, second], repeatable: files.repeatable)
            ).migrate()
        }
        #expect(error?.message.contains("9000_add_first.sql is pending") == true)
    }

    @Test("two migrators starting together apply each version exactly once")
    func concurrentMigrators() async throws {
        let database = try TestDatabase.create("race")
        let migrations = files
        async let first = Task.detached {
            try Migrator(connection: database.connect(), migrations: migrations).migrate().versioned.count
        }.value
        async let second = Task.detached {
            try Migrator(connection: database.connect(), migrations: migrations).migrate().versioned.count
        }.value
        let applied = try await [first, second]
        #expect(applied.sorted() == [0, files.versioned.count])
        #expect(
            try database.count("SELECT count(DISTINCT version) FROM etl.schema_migrations") == files.versioned.count)
    }

    @Test("the migrations built into the binary are the files in migrations/")
    func embeddedMatchFiles() throws {
        #expect(try MigrationSource.embedded.load() == files)
    }

    @Test("a file outside the folders the migrator reads is refused, not ignored")
    func refusesStrayFile() throws {
        let error = #expect(throws: MigrationError.self) {
            try MigrationSet(files: [(path: "procedures/etl.x.sql", sql: "SELECT 1;")])
        }
        #expect(error?.message.contains("procedures/etl.x.sql is in no folder the migrator reads") == true)
    }
}
