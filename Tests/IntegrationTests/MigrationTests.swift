import Foundation
import LibPQ
import PipelineIO
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
        #expect(first.map(\.version) == files.map(\.version))
        #expect(try migrator.migrate().isEmpty)
        #expect(try database.count("SELECT count(*) FROM etl.schema_migrations") == files.count)
        let status = try migrator.status()
        #expect(status.pending.isEmpty)
        #expect(status.applied.map(\.version) == files.map(\.version))
        for table in ["etl.offsets", "etl.batches", "etl.rejected_events", "etl.gaps", "staging.events"] {
            #expect(try database.scalar("SELECT to_regclass($1)::text", [table]) == table)
        }
    }

    @Test("every migration applies twice on an empty database (idempotent DDL)")
    func filesAreRerunnable() throws {
        let database = try TestDatabase.create("rerun")
        let connection = try database.connect()
        for migration in files {
            try connection.executeScript(migration.sql)
            try connection.executeScript(migration.sql)
        }
    }

    @Test("refuses to run when an applied file has changed")
    func refusesChangedFile() throws {
        let database = try TestDatabase.create("changed")
        try Migrator(connection: database.connect(), migrations: files).migrate()
        var edited = files
        edited[1].sql += "\n-- an edit after merge\n"
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: edited).migrate()
        }
        #expect(error?.message.contains("0002_create_etl_offsets.sql has changed") == true)
    }

    @Test("refuses to run when an applied file is missing")
    func refusesMissingFile() throws {
        let database = try TestDatabase.create("missing")
        try Migrator(connection: database.connect(), migrations: files).migrate()
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: Array(files.dropFirst())).migrate()
        }
        #expect(error?.message.contains("its file is missing") == true)
    }

    @Test("refuses a pending file numbered below an applied one")
    func refusesOutOfOrder() throws {
        let database = try TestDatabase.create("order")
        // Later migrations build on etl.batches (0011's health views): leave them out too.
        try Migrator(connection: database.connect(), migrations: files.filter { $0.version <= 4 && $0.version != 3 })
            .migrate()
        let error = #expect(throws: MigrationError.self) {
            try Migrator(connection: database.connect(), migrations: files).migrate()
        }
        #expect(error?.message.contains("0003_create_etl_batches.sql is pending") == true)
    }

    @Test("two migrators starting together apply each version exactly once")
    func concurrentMigrators() async throws {
        let database = try TestDatabase.create("race")
        let migrations = files
        async let first = Task.detached {
            try Migrator(connection: database.connect(), migrations: migrations).migrate().count
        }.value
        async let second = Task.detached {
            try Migrator(connection: database.connect(), migrations: migrations).migrate().count
        }.value
        let applied = try await [first, second]
        #expect(applied.sorted() == [0, files.count])
        #expect(try database.count("SELECT count(DISTINCT version) FROM etl.schema_migrations") == files.count)
    }

    @Test("the migrations built into the binary are the files in migrations/")
    func embeddedMatchFiles() throws {
        let embedded = try MigrationSource.embedded.load()
        #expect(embedded == files, "run scripts/embed-migrations after changing migrations/")
    }
}
