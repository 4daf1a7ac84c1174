import Foundation
import LibPQ
import Testing

@Suite("security: least privilege for the worker and for Grafana", .serialized)
struct LeastPrivilegeTests {
    /// The test database's URL with another login role (the private cluster trusts local logins).
    static func url(_ database: TestDatabase, as role: String) -> String {
        database.url.replacingOccurrences(of: "://postgres@", with: "://\(role)@")
    }

    /// The SQLSTATE `sql` fails with, or "ok".
    static func outcome(_ connection: PQConnection, _ sql: String) -> String {
        do {
            try connection.execute(sql)
            return "ok"
        } catch let error as PostgresError {
            return error.sqlState?.rawValue ?? "no sqlstate"
        } catch {
            return "\(error)"
        }
    }

    @Test("grafana_reader reads analytics only; pipeline_writer cannot drop, alter, truncate or create tables")
    func roleBoundaries() throws {
        let database = try TestDatabase.migrated("roles")
        let reader = try PQConnection(Self.url(database, as: "grafana_reader"))
        #expect(Self.outcome(reader, "SELECT count(*) FROM analytics.events_per_minute") == "ok")
        for sql in [
            "SELECT count(*) FROM staging.events", "SELECT count(*) FROM etl.offsets",
            "SELECT count(*) FROM etl.rejected_events",
            "INSERT INTO etl.offsets (topic, partition, next_offset, updated_by) VALUES ('t', 0, 0, 'x')",
            "SELECT etl.refresh_aggregates()", "DROP TABLE staging.events",
        ] {
            #expect(Self.outcome(reader, sql) == "42501", "grafana_reader: \(sql)")
        }
        let writer = try PQConnection(Self.url(database, as: "pipeline_writer"))
        #expect(Self.outcome(writer, "SELECT count(*) FROM etl.offsets") == "ok")
        for sql in [
            "DROP TABLE staging.events", "DROP TABLE etl.offsets", "ALTER TABLE etl.offsets ADD COLUMN x int",
            "ALTER TABLE staging.events DROP COLUMN payload", "TRUNCATE etl.offsets", "TRUNCATE staging.events",
            "CREATE TABLE etl.intruder (x int)", "CREATE TABLE staging.intruder (x int)",
            "DROP SCHEMA analytics CASCADE",
            "UPDATE staging.events SET user_id = 'x'", "DELETE FROM staging.events",
            "DROP FUNCTION etl.refresh_aggregates(boolean)",
        ] {
            #expect(Self.outcome(writer, sql) == "42501", "pipeline_writer: \(sql)")
        }
    }

    @Test("the worker binary runs as pipeline_writer: creates partitions, loads, dead-letters, refreshes")
    func workerAsPipelineWriter() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("writer")  // migrated by the owner
        try ParentStatements.startCounting(in: database)
        var factory = EventFactory(seed: 81)
        let messages = factory.messages(count: 2000, malformedEvery: 11)  // event times over 28 days: new partitions
        try kafka.produce(messages)
        let log = NSTemporaryDirectory() + "pipeline-writer-\(database.name).log"
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database",
                Self.url(database, as: "pipeline_writer"), "--no-group", "--available-now", "--max-message-bytes",
                "4000",
                "--max-batch-events", "500",
            ], logFile: log)
        #expect(status == 0, "see \(log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!text.contains("permission denied") && !text.contains("42501"), "see \(log)")
        #expect(try database.count("SELECT count(*) FROM etl.dirty_minutes") == 0, "the aggregates were refreshed")
        #expect(
            try ParentStatements.count(in: database) == 0,
            "every batch COPYed straight into the day partitions the worker created (default privileges)")
    }
}
