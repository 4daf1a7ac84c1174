import Foundation
import Testing

@Suite("faults: retention overtakes a stopped worker", .serialized)
struct RetentionGapTests {
    @Test("the lost range is in etl.gaps exactly, pipeline status shows it and exits 2, loading resumes")
    func gapRecordedAndShown() throws {
        let kafka = try KafkaFixture(brokers: 1, partitions: 1, topic: "trimmed")
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("trim")
        let rig = FaultRig(kafka: kafka, database: database, label: "trim")
        func produce(_ count: Int, seed: Int) throws {
            let producer = try PipelineBinary.start(
                [
                    "produce", "--brokers", kafka.brokers, "--topic", kafka.topic, "--count", String(count), "--rate",
                    "0",
                    "--seed", String(seed),
                ], logFile: rig.log)
            try rig.finish(producer: producer)
        }
        try produce(1000, seed: 1)
        try rig.drain()
        // The worker is stopped; ~13 MiB more go past the mock's 5 MiB a partition, which drops the oldest.
        try produce(40_000, seed: 2)
        let marks = try #require(try kafka.watermarks().first)
        try #require(marks.low > 1000, "the mock cluster kept everything (low watermark \(marks.low))")
        try rig.drain()

        let gaps = try database.connect().execute(
            "SELECT first_offset, last_offset FROM etl.gaps WHERE topic = $1 AND partition = 0", [kafka.topic])
        #expect(gaps.rowCount == 1)
        #expect(gaps.int64(0, 0) == 1000 && gaps.int64(0, 1) == marks.low - 1, "the gap is exactly [1000, low - 1]")
        #expect(rig.logCount("data lost before loading") == 1, "logged as an error; see \(rig.log)")

        // Loading resumed at the log start: everything Kafka still holds is loaded once, nothing else.
        let loaded = try database.connect().execute(
            """
            WITH loaded AS (
                SELECT kafka_offset AS o FROM staging.events UNION ALL SELECT kafka_offset FROM etl.rejected_events
            )
            SELECT count(*), count(DISTINCT o), count(*) FILTER (WHERE o >= 1000 AND o < $1) FROM loaded
            """, [String(marks.low)])
        let expected = 1000 + Int(marks.high - marks.low)
        #expect(loaded.int64(0, 0) == Int64(expected) && loaded.int64(0, 1) == Int64(expected))
        #expect(loaded.int64(0, 2) == 0)
        #expect(
            try database.count("SELECT next_offset FROM etl.offsets WHERE topic = $1", [kafka.topic]) == Int(marks.high)
        )
        FaultReport.record(
            fault: "retention gap (range in etl.gaps, status exit 2)", trials: 1, events: Int(marks.high),
            lost: Int(Int64(expected) - (loaded.int64(0, 1) ?? 0)),
            duplicated: Int((loaded.int64(0, 0) ?? 0) - (loaded.int64(0, 1) ?? 0)))

        let arguments = ["status", "--database", database.url, "--brokers", kafka.brokers, "--topic", kafka.topic]
        let table = try PipelineOutput.run(arguments, logFile: rig.log)
        #expect(table.status == 2, "a gap detected within --max-idle is unhealthy: \(table.stdout)")
        let lost = marks.low - 1000
        #expect(
            table.stdout.contains("1 gap(s) detected within the last 2m, \(lost) message(s) lost"), "\(table.stdout)")
        #expect(
            table.stdout.contains(String(marks.low - 1)), "the table shows the range's last offset: \(table.stdout)")
        let json = try PipelineOutput.run(arguments + ["--json"], logFile: rig.log).jsonObject()
        let gap = try #require((json["gaps"] as? [[String: Any]])?.first)
        #expect(gap["first_offset"] as? Int == 1000)
        #expect(gap["last_offset"] as? Int == Int(marks.low - 1))
        #expect(gap["messages_lost"] as? Int == Int(lost))
        #expect(json["total_lag"] as? Int == 0, "loading resumed to the end of the partition")
    }
}
