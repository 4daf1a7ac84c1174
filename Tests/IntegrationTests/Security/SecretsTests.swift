import Foundation
import TestSupport
import Testing

@Suite("security: passwords never printed; hostile names refused", .serialized)
struct SecretsTests {
    static let databaseSecret = "pw-S3cret-4711"
    static let kafkaSecret = "sasl-S3cret-0815"

    /// Every byte a command printed, stdout and stderr.
    static func output(_ arguments: [String], environment: [String: String] = [:]) throws -> (
        status: Int32, text: String
    ) {
        let run = try PipelineBinary.capture(try PipelineBinary.path(), arguments, environment: environment)
        return (run.status, run.output)
    }

    @Test("the database password and Kafka SASL password appear in no log line, status output or error")
    func secretsNeverPrinted() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("secrets")
        var factory = EventFactory(seed: 91)
        try kafka.produce(factory.messages(count: 300, malformedEvery: 7))
        // The private cluster trusts local logins: the password is sent and ignored, as a real one would be used.
        let withPassword = database.url.replacingOccurrences(
            of: "://postgres@", with: "://postgres:\(Self.databaseSecret)@")
        let port = URL(string: database.url)?.port ?? 5432
        let kafkaArguments = [
            "--brokers", kafka.brokers, "--topic", kafka.topic, "--kafka-property", "sasl.username=loader",
            "--kafka-property", "sasl.password=\(Self.kafkaSecret)",
        ]
        var runs: [(String, (status: Int32, text: String))] = []
        runs.append(
            (
                "worker, debug log",
                try Self.output(
                    [
                        "worker", "--database", withPassword, "--no-group", "--available-now", "--log-level", "debug",
                        "--max-message-bytes", "4000",
                    ] + kafkaArguments)
            ))
        #expect(runs.last!.1.status == 0, "\(runs.last!.1.text)")
        #expect(try database.count("SELECT count(*) FROM etl.batches") > 0)
        runs.append(("status table", try Self.output(["status", "--database", withPassword] + kafkaArguments)))
        runs.append(
            ("status --json", try Self.output(["status", "--database", withPassword, "--json"] + kafkaArguments)))
        runs.append(
            (
                "status, URL from the environment",
                try Self.output(["status"] + kafkaArguments, environment: ["PIPELINE_DATABASE_URL": withPassword])
            ))
        runs.append(
            (
                "status, Kafka properties from the environment",
                try Self.output(
                    ["status", "--database", withPassword, "--brokers", kafka.brokers, "--topic", kafka.topic],
                    environment: ["PIPELINE_KAFKA_PROPERTIES": "sasl.username=loader,sasl.password=\(Self.kafkaSecret)"]
                )
            ))
        // Failures: unreachable, unparsable, wrong database, a bad Kafka property value.
        for url in [
            "postgresql://postgres:\(Self.databaseSecret)@127.0.0.1:1/db",
            "postgresql://postgres:\(Self.databaseSecret)@[::1/db",
            "postgresql://postgres:\(Self.databaseSecret)@127.0.0.1:\(port)/db?sslmode=bogus",
            "host=127.0.0.1 port=\(port) user=postgres dbname=missing_db password='\(Self.databaseSecret)'",
            "postgresql://127.0.0.1:\(port)/missing_db?password=\(Self.databaseSecret)",
        ] {
            runs.append(("status against \(url.prefix(20))…", try Self.output(["status", "--database", url])))
            runs.append(("migrate against \(url.prefix(20))…", try Self.output(["migrate", "--database", url])))
        }
        runs.append(
            (
                "worker, invalid value for a Kafka property",
                try Self.output(
                    [
                        "worker", "--database", withPassword, "--no-group", "--available-now", "--brokers",
                        kafka.brokers,
                        "--kafka-property", "fetch.wait.max.ms=\(Self.kafkaSecret)",
                    ])
            ))
        for (name, run) in runs {
            #expect(!run.text.contains(Self.databaseSecret), "\(name) printed the database password:\n\(run.text)")
            #expect(!run.text.contains(Self.kafkaSecret), "\(name) printed the SASL password:\n\(run.text)")
        }
        // The failures fail, and say why.
        #expect(
            runs.filter { $0.0.hasPrefix("status against") || $0.0.hasPrefix("migrate against") }.allSatisfy {
                $0.1.status != 0
            })
        #expect(runs.last!.1.status != 0)
        #expect(runs.last!.1.text.contains("fetch.wait.max.ms"), "\(runs.last!.1.text)")
    }

    @Test(
        "on a server that checks the password: the marker in a URI, in key=value with spaces and quotes, in PGPASSWORD, in a .pgpass file, and the Kafka SASL password, never in output, trace logs, /metrics, status or etl.*"
    )
    func secretsOnAServerThatChecksThem() throws {
        let database = try TLSDatabase.create(password: Self.databaseSecret)
        try database.migrate()
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        var factory = EventFactory(seed: 92)
        try kafka.produce(factory.messages(count: 300, malformedEvery: 9))
        let passFile = NSTemporaryDirectory() + "pgpass-\(UUID().uuidString)"
        try "localhost:\(database.port):\(database.name):\(database.user):\(Self.databaseSecret)\n".write(
            toFile: passFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: passFile) }
        // libpq ignores a password file that others can read.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passFile)
        let bare = database.keyValue(password: nil)
        // Each way a password reaches libpq: (name, --database value or nil, environment).
        let forms: [(String, String?, [String: String])] = [
            ("URI", database.uri(password: Self.databaseSecret), [:]),
            ("key=value, spaces and quotes", database.keyValue(password: Self.databaseSecret), [:]),
            ("PGPASSWORD", bare, ["PGPASSWORD": Self.databaseSecret]),
            ("PGPASSFILE", bare, ["PGPASSFILE": passFile]),
            ("PIPELINE_DATABASE_URL", nil, ["PIPELINE_DATABASE_URL": database.uri(password: Self.databaseSecret)]),
        ]
        let kafkaSASL = [
            "--kafka-property", "sasl.username=loader", "--kafka-property", "sasl.password=\(Self.kafkaSecret)",
        ]
        var runs: [(String, (status: Int32, text: String))] = []
        for (name, url, environment) in forms {
            let database = url.map { ["--database", $0] } ?? []
            for command in [["status"], ["status", "--json"], ["migrate"], ["migrate", "--status"]] {
                let run = try Self.output(command + database + kafkaSASL, environment: environment)
                // It authenticated: status says healthy or not (0 or 2), migrate succeeds; 1 is a failure.
                #expect(run.status != 1, "\(name), \(command): \(run.text)")
                runs.append(("\(name), \(command.joined(separator: " "))", run))
            }
        }

        // The worker at trace level, Kafka properties from flags and the environment, /metrics read while it runs.
        let port = try freePort()
        let log = NSTemporaryDirectory() + "secrets-worker-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let worker = try PipelineBinary.start(
            [
                "worker", "--database", database.uri(password: Self.databaseSecret), "--brokers", kafka.brokers,
                "--topic", kafka.topic, "--no-group", "--log-level", "trace", "--metrics-port", String(port),
                "--metrics-host", "127.0.0.1",
            ] + kafkaSASL, logFile: log)
        var scraped: [String] = []
        for _ in 0..<300 where (try? database.count("SELECT count(*) FROM etl.batches")) ?? 0 == 0 {
            Thread.sleep(forTimeInterval: 0.1)
        }
        for target in ["/metrics", "/readyz", "/healthz"] {
            scraped.append(HTTPGet.get(port: port, target)?.body ?? "")
        }
        worker.terminate()
        worker.waitUntilExit()
        #expect(try database.count("SELECT count(*) FROM etl.batches") > 0)
        #expect(scraped[0].contains("pipeline_events_ingested_total"), "\(scraped[0].prefix(300))")
        runs.append(("worker, trace log", (worker.terminationStatus, try String(contentsOfFile: log, encoding: .utf8))))
        runs.append(("/metrics, /readyz, /healthz", (0, scraped.joined(separator: "\n"))))

        // Failure paths: wrong host, wrong password, unparsable, TLS failure (the wrong CA).
        let wrongPassword = database.keyValue(password: Self.databaseSecret + "-not")
        for (name, url) in [
            ("wrong host", "postgresql://\(database.user):\(Self.databaseSecret)@127.0.0.1:1/\(database.name)"),
            ("wrong password", wrongPassword),
            ("unparsable", "postgresql://\(database.user):\(Self.databaseSecret)@[::1/\(database.name)"),
            ("unparsable key=value", "host=localhost password = '\(Self.databaseSecret)"),
            ("wrong CA", database.keyValue(password: Self.databaseSecret, ca: database.otherCA)),
        ] {
            for command in ["status", "migrate"] {
                let run = try Self.output([command, "--database", url])
                #expect(run.status != 0, "\(name), \(command): \(run.text)")
                runs.append(("\(name), \(command)", run))
            }
        }
        let failingLog = NSTemporaryDirectory() + "secrets-failing-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: failingLog) }
        let failing = try PipelineBinary.start(
            [
                "worker", "--database", wrongPassword, "--brokers", kafka.brokers, "--topic", kafka.topic,
                "--no-group", "--log-level", "trace",
            ] + kafkaSASL, logFile: failingLog)
        Thread.sleep(forTimeInterval: 3)
        failing.terminate()
        failing.waitUntilExit()
        let failingText = try String(contentsOfFile: failingLog, encoding: .utf8)
        #expect(failingText.contains("password authentication failed"), "\(failingText.prefix(2000))")
        runs.append(("worker, wrong password, trace log", (failing.terminationStatus, failingText)))

        // Kafka with SASL and TLS asked for: the mock cluster speaks neither, so the client tries and
        // fails; the password must not show in what status says about it.
        let saslProperties =
            "security.protocol=SASL_PLAINTEXT,sasl.mechanism=PLAIN,sasl.username=loader,sasl.password=\(Self.kafkaSecret)"
        for (name, arguments, environment) in [
            (
                "SASL from flags",
                kafkaSASL + [
                    "--kafka-property", "security.protocol=SASL_PLAINTEXT", "--kafka-property", "sasl.mechanism=PLAIN",
                ], [String: String]()
            ),
            ("SASL from PIPELINE_KAFKA_PROPERTIES", [], ["PIPELINE_KAFKA_PROPERTIES": saslProperties]),
            (
                "TLS with a key password",
                [
                    "--kafka-property", "security.protocol=SSL", "--kafka-property",
                    "ssl.key.password=\(Self.kafkaSecret)",
                ], [:]
            ),
        ] {
            let run = try Self.output(
                [
                    "status", "--database", database.uri(password: Self.databaseSecret), "--brokers", kafka.brokers,
                    "--topic", kafka.topic,
                ] + arguments, environment: environment)
            #expect(run.text.contains("cannot read high watermarks"), "\(name): \(run.text)")
            runs.append(("status, Kafka \(name)", run))
        }

        for (name, run) in runs {
            #expect(!run.text.contains(Self.databaseSecret), "\(name) printed the database password:\n\(run.text)")
            #expect(!run.text.contains(Self.kafkaSecret), "\(name) printed the SASL password:\n\(run.text)")
        }
        // Nor is either stored: every etl table, and staging, read as text.
        let connection = try database.connect()
        let tables = try connection.execute(
            "SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables WHERE table_schema IN ('etl', 'staging') AND table_type = 'BASE TABLE'"
        )
        #expect(tables.rowCount > 5)
        for row in 0..<tables.rowCount {
            let table = tables.value(row, 0) ?? ""
            let found = try connection.execute(
                "SELECT count(*) FROM \(table) AS t WHERE t::text LIKE '%' || $1 || '%' OR t::text LIKE '%' || $2 || '%'",
                [Self.databaseSecret, Self.kafkaSecret]
            ).value(0, 0)
            #expect(found == "0", "\(table) holds a password")
        }
    }

    @Test("hostile topic and group names are refused before anything connects, with what to use instead")
    func hostileNames() throws {
        let database = try TestDatabase.migrated("names")
        let hostile = [
            "", ".", "..", "events;DROP TABLE staging.events", "events' OR '1'='1", "../../etc/passwd", "ev ents",
            "ev\nents",
            "évents", "events\u{7}", String(repeating: "e", count: 250), "$(touch /tmp/pwned)",
        ]
        for name in hostile {
            for (command, flag) in [
                ("worker", "--topic"), ("worker", "--group"), ("status", "--topic"), ("produce", "--topic"),
            ] {
                var arguments = [command, "--brokers", "127.0.0.1:1", flag, name]
                if command != "produce" { arguments += ["--database", database.url] }
                if command == "worker" { arguments += ["--available-now"] }
                if command == "produce" { arguments += ["--count", "1"] }
                let run = try Self.output(arguments)
                #expect(
                    run.status == 64,
                    "\(command) \(flag) \(KafkaNamesShown.shown(name)): exit \(run.status)\n\(run.text)")
                #expect(
                    run.text.contains("invalid \(flag == "--group" ? "group" : "topic") name")
                        && run.text.contains("a-z, A-Z, 0-9"),
                    "\(command) \(flag): \(run.text)")
                #expect(!run.text.contains("\n\n\n"), "the name is printed escaped")
            }
        }
        // From the environment too, naming the variable.
        let run = try Self.output(
            ["worker", "--brokers", "127.0.0.1:1", "--database", database.url, "--available-now"],
            environment: ["PIPELINE_TOPIC": "bad topic", "PIPELINE_GROUP": "ok"])
        #expect(run.status == 64 && run.text.contains("PIPELINE_TOPIC"), "\(run.text)")
        // Nothing reached the database.
        #expect(try database.count("SELECT count(*) FROM etl.offsets") == 0)
        // The longest legal name is accepted (status: no batch yet, so unhealthy, exit 2, not 64).
        let longest = String(repeating: "a", count: 249)
        #expect(try Self.output(["status", "--database", database.url, "--topic", longest]).status == 2)
    }
}

/// The test's own rendering of a name for messages (printable, short).
enum KafkaNamesShown {
    static func shown(_ name: String) -> String { String(name.debugDescription.prefix(40)) }
}
