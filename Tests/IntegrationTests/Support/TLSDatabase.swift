import Foundation
import LibPQ
import PipelineIO

/// A database on the second private cluster scripts/test starts (pg_start_tls_cluster):
/// TCP only over TLS with a scram-sha-256 password, a certificate for `localhost` signed
/// by a CA made at test time. Owned by a role of its own whose password the test chooses.
struct TLSDatabase {
    let port: String
    let ca: String
    /// A CA that signed nothing here: "the wrong CA".
    let otherCA: String
    let user: String
    let password: String
    let name: String

    static func create(password: String) throws -> TLSDatabase {
        let environment = ProcessInfo.processInfo.environment
        guard let admin = environment["PIPELINE_TEST_TLS_ADMIN_URL"], let port = environment["PIPELINE_TEST_TLS_PORT"],
            let ca = environment["PIPELINE_TEST_TLS_CA"], let otherCA = environment["PIPELINE_TEST_TLS_OTHER_CA"]
        else {
            throw TestSetupError(
                "PIPELINE_TEST_TLS_* is not set: run the suite through scripts/test (it starts the TLS cluster)")
        }
        let name = "tls_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try PQConnection(admin)
        // Test-chosen names and markers (letters, digits, '-'): safe as literals.
        try connection.execute("CREATE ROLE \(name) LOGIN SUPERUSER PASSWORD '\(password)'")
        try connection.execute("CREATE DATABASE \(name) OWNER \(name)")
        return TLSDatabase(port: port, ca: ca, otherCA: otherCA, user: name, password: password, name: name)
    }

    /// key=value pairs with `sslmode=verify-full`; the password, when given, written with
    /// spaces around `=` and quoted, as libpq allows.
    func keyValue(password: String?, host: String = "localhost", ca: String? = nil) -> String {
        var text =
            "host=\(host) port=\(port) dbname=\(name) user=\(user) sslmode=verify-full sslrootcert=\(ca ?? self.ca)"
        // localhost may resolve to ::1 first, where nothing listens; hostaddr skips the lookup.
        if host == "localhost" { text += " hostaddr=127.0.0.1" }
        if let password { text += " password = '\(password)'" }
        return text
    }

    /// A postgresql:// URI with the password in the user info.
    func uri(password: String) -> String {
        "postgresql://\(user):\(password)@localhost:\(port)/\(name)?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=\(ca)"
    }

    func connect() throws -> PQConnection { try PQConnection(keyValue(password: password)) }

    func count(_ sql: String, _ parameters: [String?] = []) throws -> Int {
        Int(try connect().execute(sql, parameters).value(0, 0) ?? "") ?? -1
    }

    func migrate() throws {
        try Migrator(connection: connect(), migrations: MigrationSource.directory(repositoryMigrationsPath).load())
            .migrate()
    }
}
