import Foundation
import Testing

/// TLS to PostgreSQL for real: the TLS cluster scripts/test starts refuses TCP without TLS
/// and checks passwords; the binary connects with sslmode=verify-full and sslrootcert.
@Suite("security: PostgreSQL over TLS, verify-full", .serialized)
struct TLSTests {
    static let password = "tls-Pw-3141"

    @Test("migrate and the worker load over verify-full TLS; the server refuses a connection without it")
    func loadsOverTLS() throws {
        let database = try TLSDatabase.create(password: Self.password)
        let url = database.keyValue(password: Self.password)
        let migrate = try PipelineBinary.capture(try PipelineBinary.path(), ["migrate", "--database", url])
        #expect(migrate.status == 0, "\(migrate.output)")
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        var factory = EventFactory(seed: 12)
        try kafka.produce(factory.messages(count: 200, malformedEvery: 0))
        let worker = try PipelineBinary.capture(
            try PipelineBinary.path(),
            [
                "worker", "--database", url, "--brokers", kafka.brokers, "--topic", kafka.topic, "--no-group",
                "--available-now",
            ])
        #expect(worker.status == 0, "\(worker.output)")
        #expect(try database.count("SELECT count(*) FROM staging.events") == 200)
        #expect(
            try database.connect().execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").value(0, 0)
                == "t")
        let plain = try PipelineBinary.capture(
            try PipelineBinary.path(),
            [
                "status", "--database",
                "host=127.0.0.1 port=\(database.port) dbname=\(database.name) user=\(database.user) password=\(Self.password) sslmode=disable",
            ])
        #expect(plain.status == 1 && plain.output.contains("no encryption"), "\(plain.output)")
    }

    @Test("the wrong CA and the wrong host name fail with libpq's reason; the worker logs it and loads nothing")
    func refusesWrongCertificate() throws {
        let database = try TLSDatabase.create(password: Self.password)
        try database.migrate()
        for (url, reason) in [
            (database.keyValue(password: Self.password, ca: database.otherCA), "certificate verify failed"),
            (database.keyValue(password: Self.password, host: "127.0.0.1"), "does not match host name \"127.0.0.1\""),
        ] {
            for command in ["status", "migrate"] {
                let run = try PipelineBinary.capture(try PipelineBinary.path(), [command, "--database", url])
                #expect(run.status == 1, "\(command): \(run.output)")
                #expect(run.output.contains(reason), "\(command): \(run.output)")
            }
        }
        // The worker retries a connection that fails (it cannot tell a wrong CA from a server
        // still starting), logging the reason each time; stopped, it exits having loaded nothing.
        let kafka = try KafkaFixture(partitions: 1)
        defer { withExtendedLifetime(kafka) {} }
        var factory = EventFactory(seed: 13)
        try kafka.produce(factory.messages(count: 10, malformedEvery: 0))
        let log = NSTemporaryDirectory() + "tls-wrong-ca-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let worker = try PipelineBinary.start(
            [
                "worker", "--database", database.keyValue(password: Self.password, ca: database.otherCA), "--brokers",
                kafka.brokers, "--topic", kafka.topic, "--no-group", "--available-now",
            ], logFile: log)
        var text = ""
        for _ in 0..<100 where !text.contains("certificate verify failed") {
            Thread.sleep(forTimeInterval: 0.1)
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        worker.terminate()
        worker.waitUntilExit()
        #expect(text.contains("certificate verify failed"), "\(text)")
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 0)
    }
}
