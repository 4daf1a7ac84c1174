import Foundation
import RdKafka
import Testing

@Suite("pipeline produce, and the gap the mock cluster's retention makes", .serialized)
struct ProduceAndGapTests {
    /// Runs `pipeline produce ARGS...` to completion; returns its exit status and output.
    private func produce(_ arguments: [String], label: String) throws -> (status: Int32, output: String) {
        let log = NSTemporaryDirectory() + "pipeline-produce-\(label)-\(UUID().uuidString).log"
        let status = try PipelineBinary.run(["produce"] + arguments, logFile: log)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        return (status, output)
    }

    /// The number after `name ` in the produce summary line (`malformed 12`).
    private func summaryNumber(_ name: String, in output: String) -> Int? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("produced ") }),
            let range = line.range(of: name + " ")
        else { return nil }
        return Int(line[range.upperBound...].prefix(while: \.isNumber))
    }

    private func watermarks(_ kafka: KafkaFixture) throws -> [(low: Int64, high: Int64)] {
        let consumer = try RDKafkaConsumer(
            config: RDKafkaConfig(["bootstrap.servers": kafka.brokers, "group.id": "watermarks"]),
            rebalanceHandler: nil)
        defer { consumer.close() }
        return try (0..<kafka.partitions).map {
            try consumer.queryWatermarks(RDKafkaTopicPartition(topic: kafka.topic, partition: $0), timeoutMs: 10_000)
        }
    }

    @Test("the binary delivers exactly --count messages, keyed, and the worker loads or rejects each")
    func producesExactlyTheCount() async throws {
        let kafka = try KafkaFixture(brokers: 3, partitions: 4, topic: "produced")
        defer { withExtendedLifetime(kafka) {} }
        let run = try produce(
            [
                "--brokers", kafka.brokers, "--topic", kafka.topic, "--count", "5000", "--rate", "0", "--seed", "7",
                "--malformed-ratio", "0.05", "--late-ratio", "0.05", "--max-message-bytes", "4000",
            ], label: "count")
        #expect(run.status == 0, "\(run.output)")
        #expect(summaryNumber("delivered", in: run.output) == 5000, "\(run.output)")
        #expect(summaryNumber("failed", in: run.output) == 0)
        let marks = try watermarks(kafka)
        #expect(marks.allSatisfy { $0.low == 0 })
        #expect(marks.map(\.high).reduce(0, +) == 5000)
        #expect(marks.allSatisfy { $0.high > 0 }, "keys spread over every partition")

        let malformed = try #require(summaryNumber("malformed", in: run.output))
        #expect(malformed > 150 && malformed < 350)
        let database = try TestDatabase.migrated("produce")
        let summary = try await WorkerRun(kafka: kafka, database: database).runDetached().value
        #expect(summary.events + summary.rejected == 5000)
        #expect(try database.count("SELECT count(*) FROM etl.rejected_events") == malformed)
        #expect(try database.count("SELECT count(*) FROM staging.events") == 5000 - malformed)
        // too_large is drawn rarely (a mebibyte each in real use): ten reasons at least in 250 messages.
        #expect(try database.count("SELECT count(DISTINCT reason) FROM etl.rejected_events") >= 10)
    }

    @Test("--funnel reaches the simulator: no logs, every session buys")
    func funnelFlagShapesTheTraffic() async throws {
        let kafka = try KafkaFixture(brokers: 1, partitions: 2, topic: "funnel")
        defer { withExtendedLifetime(kafka) {} }
        let run = try produce(
            [
                "--brokers", kafka.brokers, "--topic", kafka.topic, "--count", "3000", "--rate", "0",
                "--funnel", "logs=0,add_to_cart=1,checkout=1,purchase=1",
            ], label: "funnel")
        #expect(run.status == 0, "\(run.output)")
        let database = try TestDatabase.migrated("funnel")
        _ = try await WorkerRun(kafka: kafka, database: database).runDetached().value
        #expect(try database.count("SELECT count(*) FROM staging.events") == 3000)
        #expect(try database.count("SELECT count(*) FROM staging.events WHERE event_type = 'log'") == 0)
        // Every session that reached checkout paid: one transaction per /checkout page view, give or
        // take the sessions cut off at the end.
        let checkouts = try database.count(
            "SELECT count(*) FROM staging.events WHERE event_type = 'page_view' AND payload->>'page' = '/checkout'")
        let transactions = try database.count("SELECT count(*) FROM staging.events WHERE event_type = 'transaction'")
        #expect(checkouts > 100)
        #expect(transactions <= checkouts && transactions >= checkouts - 500)
    }

    @Test("a broker nobody listens on: every message counted as failed, exit status 1")
    func deliveryFailuresAreReported() throws {
        let run = try produce(
            [
                "--brokers", "127.0.0.1:1", "--topic", "nowhere", "--count", "20", "--rate", "0",
                "--kafka-property", "message.timeout.ms=1500",
            ], label: "fail")
        #expect(run.status == 1, "\(run.output)")
        #expect(summaryNumber("failed", in: run.output) == 20, "\(run.output)")
        #expect(run.output.contains("error: 20 message(s) were not delivered"))
    }

    @Test("retention overtakes a stopped worker: the lost range is in etl.gaps and loading resumes")
    func retentionGapIsRecorded() async throws {
        let kafka = try KafkaFixture(brokers: 1, partitions: 1, topic: "gappy")
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("gap")
        let common = ["--brokers", kafka.brokers, "--topic", kafka.topic, "--rate", "0"]

        #expect(try produce(common + ["--count", "1000", "--seed", "1"], label: "gap1").status == 0)
        _ = try await WorkerRun(kafka: kafka, database: database).runDetached().value
        let stored = try database.count("SELECT next_offset FROM etl.offsets WHERE topic = 'gappy' AND partition = 0")
        #expect(stored == 1000)

        // ~330 bytes an event: 40 000 events are about 13 MiB, well past the mock's 5 MiB a partition.
        let more = try produce(common + ["--count", "40000", "--seed", "2"], label: "gap2")
        #expect(more.status == 0, "\(more.output)")
        let marks = try #require(try watermarks(kafka).first)
        #expect(marks.high == 41_000)
        try #require(marks.low > Int64(stored), "the mock kept everything (low watermark \(marks.low))")

        let summary = try await WorkerRun(kafka: kafka, database: database).runDetached().value
        #expect(summary.gaps == 1)
        let gap = try database.connect().execute("SELECT first_offset, last_offset FROM etl.gaps WHERE topic = 'gappy'")
        #expect(gap.rowCount == 1)
        #expect(gap.value(0, 0) == String(stored))
        #expect(gap.value(0, 1) == String(marks.low - 1))
        #expect(
            try database.count("SELECT next_offset FROM etl.offsets WHERE topic = 'gappy' AND partition = 0")
                == Int(marks.high))
        #expect(
            try database.count("SELECT count(*) FROM staging.events WHERE kafka_offset >= $1", [String(marks.low)])
                == Int(marks.high - marks.low))
    }
}
