import Foundation
import Testing

@Suite("pipeline status reports offsets, lag, the last batch and gaps; exits 2 when unhealthy", .serialized)
struct StatusCommandTests {
    /// A migrated database with 400 messages (40 malformed) loaded from a 4-partition topic.
    private static func loaded(_ label: String) throws -> (KafkaFixture, TestDatabase, log: String) {
        let kafka = try KafkaFixture()
        let database = try TestDatabase.migrated(label)
        var factory = EventFactory(seed: 50)
        try kafka.produce(factory.messages(count: 400, malformedEvery: 10))
        let summary = try WorkerRun(kafka: kafka, database: database).run()
        #expect(summary.events == 360 && summary.rejected == 40)
        return (kafka, database, NSTemporaryDirectory() + "pipeline-status-\(database.name).log")
    }

    @Test("healthy right after a load: exit 0, lag 0 per partition; then unloaded messages show as lag")
    func healthyThenLag() throws {
        let (kafka, database, log) = try Self.loaded("status_ok")
        defer { withExtendedLifetime(kafka) {} }
        let arguments = ["status", "--database", database.url, "--brokers", kafka.brokers, "--topic", kafka.topic]

        let json = try PipelineOutput.run(arguments + ["--json"], logFile: log)
        #expect(json.status == 0, "see \(log): \(json.stdout)")
        let report = try json.jsonObject()
        #expect(report["healthy"] as? Bool == true)
        #expect(report["kafka_checked"] as? Bool == true)
        #expect(report["total_lag"] as? Int == 0)
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["events"] as? Int == 360)
        #expect(totals["rejected"] as? Int == 40)
        let partitions = try #require(report["partitions"] as? [[String: Any]])
        #expect(partitions.map { $0["partition"] as? Int } == [0, 1, 2, 3])
        #expect(partitions.allSatisfy { $0["lag"] as? Int == 0 })
        #expect(partitions.allSatisfy { ($0["next_offset"] as? Int) == ($0["high_watermark"] as? Int) })
        let lastBatch = try #require(report["last_batch"] as? [String: Any])
        #expect(lastBatch["worker_id"] as? String == "test-worker")
        let rejections = try #require(report["rejections_last_hour"] as? [[String: Any]])
        #expect(rejections.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == 40)
        #expect(report["watermark"] is [String: Any])
        #expect((report["gaps"] as? [Any])?.isEmpty == true)

        let table = try PipelineOutput.run(arguments, logFile: log)
        #expect(table.status == 0, "see \(log)")
        #expect(table.stdout.hasPrefix("HEALTHY"))
        #expect(table.stdout.contains("total lag 0"))

        // Produced but not loaded: the lag counts them, per partition and in total.
        var factory = EventFactory(seed: 51)
        try kafka.produce(factory.messages(count: 120))
        let lagging = try PipelineOutput.run(arguments + ["--json"], logFile: log)
        #expect(lagging.status == 0, "a recent batch and no gap: still healthy")
        let behind = try lagging.jsonObject()
        #expect(behind["total_lag"] as? Int == 120)
        let lags = try #require(behind["partitions"] as? [[String: Any]]).compactMap { $0["lag"] as? Int }
        #expect(lags.count == 4 && lags.reduce(0, +) == 120)
        #expect(try PipelineOutput.run(arguments, logFile: log).stdout.contains("total lag 120"))
    }

    @Test(
        "the aggregates' backlog: batches no refresh or session merge has added and pending rebuilds, until pipeline refresh"
    )
    func aggregatesBacklog() throws {
        let (kafka, database, log) = try Self.loaded("status_aggregates")
        defer { withExtendedLifetime(kafka) {} }
        let arguments = ["status", "--database", database.url, "--topic", kafka.topic]
        // The in-process worker of these tests does not refresh: its batches wait.
        let batches = try database.count("SELECT count(*) FROM etl.batches")
        #expect(batches > 0)
        _ = try database.scalar("SELECT etl.request_rebuild(now() - interval '2 hours', now(), 'status test')")

        let waiting = try #require(
            try PipelineOutput.run(arguments + ["--json"], logFile: log).jsonObject()["aggregates"] as? [String: Any])
        #expect(waiting["batches_waiting"] as? Int == batches)
        #expect((waiting["oldest_waiting_seconds"] as? Double).map { $0 >= 0 } == true)
        #expect(waiting["session_batches_waiting"] as? Int == batches)
        #expect((waiting["oldest_session_wait_seconds"] as? Double).map { $0 >= 0 } == true)
        #expect(waiting["rebuild_requests"] as? Int == 1)
        #expect((waiting["rebuild_hours_left"] as? Double).map { $0 >= 2 } == true)
        let table = try PipelineOutput.run(arguments, logFile: log).stdout
        #expect(table.contains("aggregates  \(batches) batch(es) waiting for a refresh"), "\(table)")
        #expect(table.contains("1 rebuild(s) pending"), "\(table)")
        #expect(table.contains("sessions    \(batches) batch(es) waiting for the session merge"), "\(table)")

        #expect(try PipelineBinary.run(["refresh", "--database", database.url], logFile: log) == 0)
        let after = try #require(
            try PipelineOutput.run(arguments + ["--json"], logFile: log).jsonObject()["aggregates"] as? [String: Any])
        #expect(after["batches_waiting"] as? Int == 0)
        #expect(after["session_batches_waiting"] as? Int == 0)
        #expect(after["rebuild_requests"] as? Int == 0)
        let upToDate = try PipelineOutput.run(arguments, logFile: log).stdout
        #expect(upToDate.contains("aggregates  up to date; no rebuild pending"), "\(upToDate)")
        #expect(upToDate.contains("sessions    up to date"), "\(upToDate)")
    }

    @Test("a stalled worker: no batch for longer than --max-idle exits 2 and says why")
    func stalled() throws {
        let (kafka, database, log) = try Self.loaded("status_stall")
        defer { withExtendedLifetime(kafka) {} }
        _ = try database.connect().execute("UPDATE etl.batches SET committed_at = now() - interval '10 minutes'")
        let arguments = ["status", "--database", database.url, "--brokers", kafka.brokers, "--topic", kafka.topic]

        let table = try PipelineOutput.run(arguments, logFile: log)
        #expect(table.status == 2, "see \(log): \(table.stdout)")
        #expect(table.stdout.hasPrefix("UNHEALTHY"))
        #expect(table.stdout.contains("no batch committed for 10m"))

        let json = try PipelineOutput.run(arguments + ["--json"], logFile: log)
        #expect(json.status == 2)
        let report = try json.jsonObject()
        #expect(report["healthy"] as? Bool == false)
        #expect((report["problems"] as? [String])?.count == 1)

        // A longer --max-idle tolerates it.
        #expect(try PipelineOutput.run(arguments + ["--max-idle", "15m"], logFile: log).status == 0)
    }

    @Test("an old gap is listed but healthy; a gap detected within --max-idle exits 2, newest first")
    func gaps() throws {
        let (kafka, database, log) = try Self.loaded("status_gap")
        defer { withExtendedLifetime(kafka) {} }
        let connection = try database.connect()
        _ = try connection.execute(
            """
            INSERT INTO etl.gaps (topic, partition, first_offset, last_offset, detected_at, detected_by)
            VALUES ($1, 1, 10, 19, now() - interval '1 hour', 'old-worker')
            """, [kafka.topic])
        let arguments = ["status", "--database", database.url, "--topic", kafka.topic, "--json"]

        let old = try PipelineOutput.run(arguments, logFile: log)
        #expect(old.status == 0, "see \(log): \(old.stdout)")
        let oldGaps = try #require(try old.jsonObject()["gaps"] as? [[String: Any]])
        #expect(oldGaps.count == 1 && oldGaps.first?["is_new"] as? Bool == false)

        // Brokers given but unreachable: said so, the rest still reported, health unaffected.
        let noKafka = try PipelineOutput.run(arguments + ["--brokers", "127.0.0.1:1"], logFile: log)
        #expect(noKafka.status == 0, "see \(log): \(noKafka.stdout)")
        let noKafkaReport = try noKafka.jsonObject()
        #expect(noKafkaReport["kafka_checked"] as? Bool == false)
        #expect((noKafkaReport["kafka_error"] as? String)?.contains("127.0.0.1:1") == true)

        _ = try connection.execute(
            "INSERT INTO etl.gaps (topic, partition, first_offset, last_offset, detected_by) VALUES ($1, 2, 5, 9, 'w2')",
            [kafka.topic])
        let new = try PipelineOutput.run(arguments, logFile: log)
        #expect(new.status == 2, "see \(log): \(new.stdout)")
        let report = try new.jsonObject()
        let gaps = try #require(report["gaps"] as? [[String: Any]])
        #expect(gaps.map { $0["partition"] as? Int } == [2, 1])
        #expect(gaps.map { $0["is_new"] as? Bool } == [true, false])
        #expect(gaps.first?["messages_lost"] as? Int == 5)
        #expect((report["problems"] as? [String])?.first?.contains("1 gap(s) detected") == true)

        let table = try PipelineOutput.run(Array(arguments.dropLast()), logFile: log)
        #expect(table.status == 2)
        #expect(table.stdout.contains("1 gap(s) detected within the last 2m, 5 message(s) lost"))
    }

    @Test("an unmigrated database: exit 1, and the error says to run pipeline migrate")
    func unmigrated() throws {
        let database = try TestDatabase.create("status_bare")
        let log = NSTemporaryDirectory() + "pipeline-status-\(database.name).log"
        let run = try PipelineOutput.run(
            ["status", "--database", database.url, "--brokers", "127.0.0.1:1"], logFile: log)
        #expect(run.status == 1)
        let stderr = try String(contentsOfFile: log, encoding: .utf8)
        #expect(stderr.contains("pipeline migrate"), "\(stderr)")
    }
}
