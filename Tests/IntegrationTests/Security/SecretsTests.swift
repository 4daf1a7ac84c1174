import Foundation
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
