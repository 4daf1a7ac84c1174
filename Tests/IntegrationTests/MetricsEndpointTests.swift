import Foundation
import LibPQ
import Testing
import TestSupport

/// The worker binary's /metrics, /healthz and /readyz, read the way a user reads
/// them: a real Prometheus scraping it, promtool, and plain HTTP GETs.
@Suite("the worker's /metrics, /healthz and /readyz", .serialized)
struct MetricsEndpointTests {
    /// A migrated database, a 4-partition topic and a running `pipeline worker` serving on a free port.
    private struct Running {
        let kafka: KafkaFixture
        let database: TestDatabase
        let port: Int
        let process: Process
        let log: String
        /// Every wait of a test draws on one budget, so a test that fails still ends within a minute.
        let deadline = Date().addingTimeInterval(55)

        init(_ label: String) throws {
            kafka = try KafkaFixture(brokers: 1, partitions: 4)
            database = try TestDatabase.migrated(label)
            port = try freePort()
            log = NSTemporaryDirectory() + "pipeline-\(label)-\(database.name).log"
            process = try PipelineBinary.start(
                [
                    "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
                    "--no-group", "--interval", "200ms", "--max-message-bytes", "4000",
                    "--metrics-port", String(port), "--metrics-host", "127.0.0.1",
                ], logFile: log)
        }

        func metrics() throws -> Exposition {
            guard let response = HTTPGet.get(port: port, "/metrics"), response.status == 200 else {
                throw TestSetupError("GET /metrics failed; see \(log)")
            }
            return Exposition(response.body)
        }

        /// Waits until the worker's own counters account for `messages` (or fails naming what it saw).
        /// Seconds left of the test's budget (at least one, for a last look).
        var remaining: Double { max(1, deadline.timeIntervalSinceNow) }

        func waitUntilCounted(_ messages: Int) async throws {
            do {
                try await waitUntil(seconds: remaining) {
                    guard process.isRunning else { throw TestSetupError("the worker exited; see \(log)") }
                    guard let exposition = try? metrics() else { return false }
                    return exposition.value("pipeline_events_ingested_total").map(Int.init)
                        .map { $0 + Int(exposition.sum("pipeline_events_rejected_total")) } == messages
                }
            } catch {
                throw TestSetupError("\(error); last /metrics: \((try? metrics().text) ?? "none"); see \(log)")
            }
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    @Test(
        "a real Prometheus scrapes the worker while it loads; its API reports pipeline_events_ingested_total = the loaded count",
        .enabled(if: PrometheusTools.installed, Comment(rawValue: PrometheusTools.missing)))
    func prometheusScrapes() async throws {
        let worker = try Running("metrics_prom")
        defer { worker.stop() }
        let prometheus = try PrometheusServer(scraping: ["127.0.0.1:\(worker.port)"])
        defer { prometheus.stop() }
        try await prometheus.waitUntilReady(seconds: worker.remaining)

        var factory = EventFactory(seed: 61)
        let first = factory.messages(count: 1500, malformedEvery: 15)
        let second = factory.messages(count: 1500, malformedEvery: 15)
        try worker.kafka.produce(first)
        try await waitUntil(seconds: worker.remaining) {
            try worker.database.count("SELECT count(*) FROM etl.batches") > 0
        }
        try worker.kafka.produce(second)  // while the worker is loading and being scraped
        try await worker.waitUntilCounted(3000)

        let loaded = try worker.database.count("SELECT count(*) FROM staging.events")
        #expect(loaded == (first + second).filter { $0.expectedReason == nil }.count)
        do {
            try await waitUntil(seconds: worker.remaining) {
                try prometheus.query("pipeline_events_ingested_total") == Double(loaded)
            }
        } catch {
            Issue.record(
                "Prometheus reports \(String(describing: try? prometheus.query("pipeline_events_ingested_total"))), the database holds \(loaded); see \(prometheus.logFile) and \(worker.log)"
            )
        }
        #expect(try prometheus.query(#"up{job="pipeline"}"#) == 1)
        let rejected = try worker.database.count("SELECT count(*) FROM etl.rejected_events")
        #expect(try prometheus.query("sum(pipeline_events_rejected_total)") == Double(rejected))
    }

    @Test(
        "GET /metrics passes promtool check metrics and counts every loaded event, rejection, batch and byte",
        .enabled(if: PrometheusTools.installed, Comment(rawValue: PrometheusTools.missing)))
    func exposition() async throws {
        let worker = try Running("metrics_text")
        defer { worker.stop() }
        var factory = EventFactory(seed: 62)
        let messages = factory.messages(count: 2000, malformedEvery: 11)
        try worker.kafka.produce(messages)
        try await worker.waitUntilCounted(messages.count)

        let response = try #require(HTTPGet.get(port: worker.port, "/metrics"))
        let check = try PrometheusTools.checkMetrics(response.body)
        #expect(check.status == 0, "promtool check metrics: \(check.output)")
        #expect(check.output.isEmpty, "promtool check metrics: \(check.output)")

        let metrics = Exposition(response.body)
        let database = worker.database
        #expect(
            metrics.value("pipeline_events_ingested_total")
                == Double(try database.count("SELECT count(*) FROM staging.events")))
        #expect(
            metrics.value("pipeline_events_ingested_total")
                == Double(messages.filter { $0.expectedReason == nil }.count))
        let byReason = try database.connect().execute(
            "SELECT reason, count(*) FROM etl.rejected_events GROUP BY reason")
        #expect(byReason.rowCount == EventFactory.allReasons.count)
        for row in 0..<byReason.rowCount {
            let reason = try #require(byReason.value(row, 0))
            #expect(
                metrics.value("pipeline_events_rejected_total", ["reason": reason])
                    == byReason.value(row, 1).flatMap(Double.init),
                "reason \(reason)")
        }
        #expect(
            metrics.value("pipeline_batches_total", ["outcome": "committed"])
                == Double(try database.count("SELECT count(*) FROM etl.batches")))
        #expect(metrics.value("pipeline_batches_total", ["outcome": "fenced"]) == 0)
        #expect(
            metrics.value("pipeline_bytes_ingested_total")
                == Double(try database.count("SELECT sum(bytes) FROM etl.batches")))
        // Every message has a Kafka timestamp: one latency sample each.
        #expect(metrics.value("pipeline_ingest_latency_seconds_count") == Double(messages.count))
        #expect(
            metrics.value("pipeline_batch_duration_seconds_count")
                == metrics.value("pipeline_batches_total", ["outcome": "committed"]))
        #expect(metrics.value("pipeline_consumer_lag", ["partition": "0"]) == 0)
        #expect(metrics.sum("pipeline_consumer_lag") == 0)
        #expect(metrics.value("pipeline_partitions_assigned") == 4)
        #expect(metrics.value("pipeline_gaps_total") == 0)
        #expect(metrics.value("pipeline_events_duplicate_total") == 0)
        #expect(metrics.sum("pipeline_db_retries_total") == 0)
        let lastCommit = try #require(metrics.value("pipeline_last_commit_timestamp_seconds"))
        let ledgerLast = try #require(
            try database.scalar("SELECT extract(epoch FROM max(committed_at)) FROM etl.batches").flatMap(Double.init))
        #expect(abs(lastCommit - ledgerLast) < 5, "the worker's clock and the ledger's agree on the last commit")
        #expect(HTTPGet.get(port: worker.port, "/healthz")?.status == 200)

        // Every metric the dashboards ask Prometheus for is one the worker exports.
        var queried: Set<String> = []
        for (_, dashboard) in try GrafanaProvisioningTests.dashboards() {
            for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
                for target in panel["targets"] as? [[String: Any]] ?? [] {
                    guard GrafanaProvisioningTests.uid(of: target["datasource"]) == "pipeline-prometheus",
                        let expression = target["expr"] as? String
                    else { continue }
                    queried.formUnion(expression.matches(of: #/pipeline_[a-z_]+/#).map { String($0.output) })
                }
            }
        }
        #expect(!queried.isEmpty)
        for name in queried {
            #expect(response.body.contains("# TYPE \(name) "), "a dashboard queries \(name), which /metrics lacks")
        }
    }

    @Test("/readyz answers 503 while the database refuses connections and 200 again once it accepts them")
    func readinessFollowsTheDatabase() async throws {
        let worker = try Running("metrics_ready")
        defer { worker.stop() }
        let readyz = { HTTPGet.get(port: worker.port, "/readyz") }
        try await waitUntil(seconds: worker.remaining) { readyz()?.status == 200 }
        #expect(readyz()?.body.hasPrefix("ready: 4 partition(s) assigned") == true)

        // The database goes away for this worker (the shared cluster stays up for the other tests).
        let admin = try serverConnection()
        try admin.execute("ALTER DATABASE \(worker.database.name) ALLOW_CONNECTIONS false")
        defer { _ = try? admin.execute("ALTER DATABASE \(worker.database.name) ALLOW_CONNECTIONS true") }
        try admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [worker.database.name])
        try await waitUntil(seconds: worker.remaining) { readyz()?.status == 503 }
        let unready = try #require(readyz())
        #expect(unready.body.contains("database unreachable"), "\(unready.body)")
        #expect(HTTPGet.get(port: worker.port, "/healthz")?.status == 200, "alive, only not ready")

        try admin.execute("ALTER DATABASE \(worker.database.name) ALLOW_CONNECTIONS true")
        try await waitUntil(seconds: worker.remaining) { readyz()?.status == 200 }

        // And it loads again: what was produced after the outage arrives exactly once.
        var factory = EventFactory(seed: 63)
        let messages = factory.messages(count: 500, malformedEvery: 10)
        try worker.kafka.produce(messages)
        try await waitUntil(seconds: worker.remaining) {
            try worker.database.count("SELECT count(*) FROM staging.events")
                + worker.database.count("SELECT count(*) FROM etl.rejected_events") == messages.count
        }
        try ExactlyOnceCheck(database: worker.database, topic: worker.kafka.topic).verify(messages)
    }

    @Test("a taken --metrics-port stops the worker at start with an error naming the address and what to do")
    func portTaken() throws {
        let worker = try Running("metrics_taken")
        defer { worker.stop() }
        try waitUntilSync(seconds: worker.remaining) { HTTPGet.get(port: worker.port, "/healthz")?.status == 200 }
        let log = NSTemporaryDirectory() + "pipeline-metrics-taken-second-\(worker.database.name).log"
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", worker.kafka.brokers, "--topic", worker.kafka.topic, "--database",
                worker.database.url, "--no-group", "--metrics-port", String(worker.port), "--metrics-host", "127.0.0.1",
            ], logFile: log)
        #expect(status != 0)
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(output.contains("cannot listen on 127.0.0.1:\(worker.port)"), "\(output)")
        #expect(output.contains("--metrics-port"), "\(output)")
    }
}

/// A connection to the server's maintenance database, for ALTER DATABASE on a test's database.
private func serverConnection() throws -> PQConnection { try PQConnection(TestDatabase.serverURL()) }
