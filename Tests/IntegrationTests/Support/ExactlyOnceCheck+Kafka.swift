import Foundation
import RdKafka
import Testing

/// Lost and duplicated records, counted against what Kafka holds rather than
/// against a list of produced messages: for loads fed by an independent
/// producer (`pipeline produce`, kcat) whose messages the test never saw.
struct KafkaLoadCount: CustomStringConvertible {
    /// Records in the topic (sum of high watermarks).
    var records = 0
    /// Offsets below a high watermark in none of staging.events, etl.rejected_events, etl.duplicate_events.
    var lost = 0
    /// Extra copies of a (partition, offset), plus extra rows of an event_id.
    var duplicated = 0
    /// Rows loaded with an offset at or past the high watermark (cannot be).
    var phantom = 0

    var description: String {
        "records \(records), lost \(lost), duplicated \(duplicated), beyond the high watermark \(phantom)"
    }
}

extension ExactlyOnceCheck {
    /// Counts every (partition, offset) of every partition from 0 to its high
    /// watermark in staging.events, etl.rejected_events and etl.duplicate_events, and every event_id
    /// in staging.events. The topic must not have been trimmed (low watermarks 0).
    func count(highWatermarks: [Int64]) throws -> KafkaLoadCount {
        let partitions = "{" + highWatermarks.indices.map(String.init).joined(separator: ",") + "}"
        let highs = "{" + highWatermarks.map(String.init).joined(separator: ",") + "}"
        let row = try database.connect().execute(
            """
            WITH loaded AS (
                SELECT kafka_partition AS p, kafka_offset AS o FROM staging.events WHERE kafka_topic = $1
                UNION ALL
                SELECT kafka_partition, kafka_offset FROM etl.rejected_events WHERE kafka_topic = $1
                UNION ALL
                SELECT kafka_partition, kafka_offset FROM etl.duplicate_events WHERE kafka_topic = $1
            ), marks AS (
                SELECT * FROM unnest($2::int[], $3::bigint[]) AS m(p, high)
            ), present AS (
                SELECT DISTINCT l.p, l.o FROM loaded AS l JOIN marks AS m ON m.p = l.p AND l.o >= 0 AND l.o < m.high
            )
            SELECT
                (SELECT coalesce(sum(high), 0) FROM marks),
                (SELECT coalesce(sum(high), 0) FROM marks) - (SELECT count(*) FROM present),
                (SELECT count(*) FROM loaded) - (SELECT count(*) FROM (SELECT DISTINCT p, o FROM loaded) AS d)
                    + (SELECT count(*) - count(DISTINCT event_id) FROM staging.events WHERE kafka_topic = $1),
                (SELECT count(*) FROM loaded AS l LEFT JOIN marks AS m ON m.p = l.p WHERE m.high IS NULL OR l.o >= m.high)
            """, [topic, partitions, highs])
        return KafkaLoadCount(
            records: Int(row.int64(0, 0) ?? -1), lost: Int(row.int64(0, 1) ?? -1),
            duplicated: Int(row.int64(0, 2) ?? -1), phantom: Int(row.int64(0, 3) ?? -1))
    }

    /// Asserts nothing lost, nothing twice, against Kafka's high watermarks,
    /// and that etl.offsets ends at each high watermark; records the soak line.
    @discardableResult
    func verify(
        kafka: KafkaFixture, fault: String, trials: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> KafkaLoadCount {
        let marks = try kafka.watermarks()
        #expect(
            marks.allSatisfy { $0.low == 0 }, "the mock cluster trimmed a partition: \(marks)",
            sourceLocation: sourceLocation)
        let counted = try count(highWatermarks: marks.map(\.high))
        FaultReport.record(
            fault: fault, trials: trials, events: counted.records, lost: counted.lost, duplicated: counted.duplicated)
        #expect(counted.records > 0, "nothing was produced", sourceLocation: sourceLocation)
        #expect(
            counted.lost == 0 && counted.duplicated == 0 && counted.phantom == 0, "\(fault): \(counted)",
            sourceLocation: sourceLocation)
        for (partition, mark) in marks.enumerated() {
            let stored = try database.count(
                "SELECT next_offset FROM etl.offsets WHERE topic = $1 AND partition = $2", [topic, String(partition)])
            #expect(
                stored == Int(mark.high),
                "etl.offsets for partition \(partition) is \(stored), Kafka's end \(mark.high)",
                sourceLocation: sourceLocation)
        }
        #expect(
            try database.count("SELECT count(*) FROM etl.gaps") == 0, "a gap was recorded",
            sourceLocation: sourceLocation)
        return counted
    }
}

extension KafkaFixture {
    /// Low and high watermark of every partition, read with a fresh client.
    func watermarks() throws -> [(low: Int64, high: Int64)] {
        let consumer = try RDKafkaConsumer(
            config: RDKafkaConfig(["bootstrap.servers": brokers, "group.id": "watermarks-\(UUID().uuidString)"]),
            rebalanceHandler: nil)
        defer { consumer.close() }
        return try (0..<partitions).map {
            try consumer.queryWatermarks(RDKafkaTopicPartition(topic: topic, partition: $0), timeoutMs: 10_000)
        }
    }
}
