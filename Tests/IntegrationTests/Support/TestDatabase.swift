import Foundation
import LibPQ
import PipelineIO
import Testing

/// A fresh database in the private cluster that `scripts/test` starts. A
/// missing cluster is a failure, never a silent skip.
struct TestDatabase {
    let url: String
    let name: String

    /// The server `scripts/test` started (PIPELINE_TEST_DATABASE_URL).
    static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PIPELINE_TEST_DATABASE_URL"], !url.isEmpty else {
            throw TestSetupError(
                "PIPELINE_TEST_DATABASE_URL is not set: run the suite through scripts/test, which starts a private PostgreSQL"
            )
        }
        return url
    }

    /// Creates an empty database with a unique name.
    static func create(_ label: String = "t") throws -> TestDatabase {
        let server = try serverURL()
        let name = "\(label)_\(UInt32.random(in: 0...UInt32.max))".lowercased()
        let admin = try PQConnection(server)
        try admin.execute("CREATE DATABASE \(name)")  // an identifier we made: no user input
        let base = server[..<server.lastIndex(of: "/")!]
        return TestDatabase(url: "\(base)/\(name)", name: name)
    }

    /// Creates a database and applies every migration from the repository's folder.
    static func migrated(_ label: String = "t") throws -> TestDatabase {
        let database = try create(label)
        let connection = try database.connect()
        try Migrator(connection: connection, migrations: MigrationSource.directory(repositoryMigrationsPath).load())
            .migrate()
        return database
    }

    func connect() throws -> PQConnection { try PQConnection(url) }

    /// One value from one query, as text.
    func scalar(_ sql: String, _ parameters: [String?] = []) throws -> String? {
        try connect().execute(sql, parameters).value(0, 0)
    }

    func count(_ sql: String, _ parameters: [String?] = []) throws -> Int {
        Int(try scalar(sql, parameters) ?? "") ?? -1
    }
}

/// The repository root, from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }  // TestDatabase.swift, Support, IntegrationTests, Tests
    return url.path
}()

let repositoryMigrationsPath = repositoryRoot + "/migrations"

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
