import Foundation
import LibPQ
import RdKafka

/// The queries behind `pipeline status`, in one place: what it reads from etl.* and,
/// when brokers are given, the high watermarks from Kafka.
public enum StatusReader {

    private static func utc(_ column: String) -> String {
        "to_char((\(column)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    /// etl.offsets, etl.batches, etl.watermarks, the aggregates' backlog, etl.rejected_events and
    /// etl.gaps of `topic`, in one read-only snapshot; `healthy` is left for the caller to judge.
    public static func read(databaseURL: String, topic: String, maxIdleMs: Int) throws -> StatusReport {
        let connection = try PQConnection(databaseURL)
        do {
            return try readDatabase(connection, topic: topic, maxIdleMs: maxIdleMs)
        } catch var error as PostgresError where error.sqlState == .undefinedTable {
            error.remedy = "The database is not migrated: run `pipeline migrate --database URL` first."
            throw error
        } catch var error as PostgresError where error.sqlState == .insufficientPrivilege {
            error.remedy = "Connect as a role that can read the etl schema (the pipeline's owner role)."
            throw error
        }
    }

    private static func readDatabase(_ connection: PQConnection, topic: String, maxIdleMs: Int) throws
        -> StatusReport
    {
        // One snapshot, so the counts and the offsets agree.
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        defer { _ = try? connection.execute("COMMIT") }

        let offsets = try connection.execute(
            """
            SELECT partition, next_offset, updated_by, greatest(extract(epoch FROM now() - updated_at), 0)
            FROM etl.offsets WHERE topic = $1 ORDER BY partition
            """, [topic])
        let partitions = (0..<offsets.rowCount).map { row in
            StatusReport.Partition(
                partition: Int32(offsets.value(row, 0) ?? "") ?? -1, nextOffset: offsets.int64(row, 1),
                updatedBy: offsets.value(row, 2), updatedAgeSeconds: offsets.value(row, 3).flatMap(Double.init))
        }

        let batch = try connection.execute(
            """
            SELECT batch_id, worker_id, events, rejected, \(utc("committed_at")),
                   greatest(extract(epoch FROM now() - committed_at), 0)
            FROM etl.batches WHERE topic = $1 ORDER BY committed_at DESC, batch_id DESC LIMIT 1
            """, [topic])
        let lastBatch =
            batch.rowCount == 0
            ? nil
            : StatusReport.Batch(
                batchID: batch.int64(0, 0) ?? 0, workerID: batch.value(0, 1) ?? "", events: batch.int64(0, 2) ?? 0,
                rejected: batch.int64(0, 3) ?? 0, committedAt: batch.value(0, 4) ?? "",
                ageSeconds: batch.value(0, 5).flatMap(Double.init) ?? 0)

        let totals = try connection.execute(
            "SELECT count(*), coalesce(sum(events), 0), coalesce(sum(rejected), 0) FROM etl.batches WHERE topic = $1",
            [topic])

        let watermark = try connection.execute(
            """
            SELECT \(utc("w.max_event_time")), \(utc("w.max_event_time - s.setting_value::interval")), s.setting_value
            FROM etl.watermarks AS w
            LEFT JOIN etl.settings AS s ON s.setting_name = 'allowed_lateness'
            WHERE w.topic = $1
            """, [topic])

        let aggregates = try connection.execute(
            """
            SELECT (SELECT count(DISTINCT batch_id) FROM etl.dirty_minutes WHERE batch_id IS NOT NULL),
                   (SELECT greatest(extract(epoch FROM now() - min(marked_at)), 0) FROM etl.dirty_minutes
                    WHERE batch_id IS NOT NULL),
                   (SELECT count(*) FROM etl.rebuild_requests),
                   (SELECT coalesce(sum(extract(epoch FROM next_to - range_from)), 0) / 3600 FROM etl.rebuild_requests),
                   (SELECT count(DISTINCT batch_id) FROM etl.batch_session_pieces),
                   -- Batch ids grow with time: the lowest waiting is the oldest (within a few lanes' batches).
                   (SELECT greatest(extract(epoch FROM now() - b.committed_at), 0) FROM etl.batches AS b
                    WHERE b.batch_id = (SELECT min(p.batch_id) FROM etl.batch_session_pieces AS p))
            """)

        let rejections = try connection.execute(
            """
            SELECT reason, count(*) FROM etl.rejected_events
            WHERE kafka_topic = $1 AND rejected_at > now() - interval '1 hour'
            GROUP BY reason ORDER BY count(*) DESC, reason
            """, [topic])

        let gaps = try connection.execute(
            """
            SELECT gap_id, partition, first_offset, last_offset, last_offset - first_offset + 1, \(utc("detected_at")),
                   greatest(extract(epoch FROM now() - detected_at), 0), detected_by,
                   now() - detected_at <= $2::bigint * interval '1 millisecond'
            FROM etl.gaps WHERE topic = $1 ORDER BY detected_at DESC, gap_id DESC
            """, [topic, String(maxIdleMs)])

        return StatusReport(
            topic: topic, healthy: true, problems: [], maxIdleSeconds: Double(maxIdleMs) / 1000,
            kafkaChecked: false, partitions: partitions, lastBatch: lastBatch,
            totals: .init(
                batches: totals.int64(0, 0) ?? 0, events: totals.int64(0, 1) ?? 0, rejected: totals.int64(0, 2) ?? 0),
            watermark: watermark.rowCount == 0
                ? nil
                : .init(
                    maxEventTime: watermark.value(0, 0) ?? "", watermark: watermark.value(0, 1),
                    allowedLateness: watermark.value(0, 2)),
            aggregates: .init(
                batchesWaiting: aggregates.int64(0, 0) ?? 0,
                oldestWaitingSeconds: aggregates.value(0, 1).flatMap(Double.init),
                sessionBatchesWaiting: aggregates.int64(0, 4) ?? 0,
                oldestSessionWaitSeconds: aggregates.value(0, 5).flatMap(Double.init),
                rebuildRequests: aggregates.int64(0, 2) ?? 0,
                rebuildHoursLeft: aggregates.value(0, 3).flatMap(Double.init) ?? 0),
            rejectionsLastHour: (0..<rejections.rowCount).map {
                .init(reason: rejections.value($0, 0) ?? "", count: rejections.int64($0, 1) ?? 0)
            },
            gaps: (0..<gaps.rowCount).map { row in
                .init(
                    gapID: gaps.int64(row, 0) ?? 0, partition: Int32(gaps.value(row, 1) ?? "") ?? -1,
                    firstOffset: gaps.int64(row, 2) ?? 0, lastOffset: gaps.int64(row, 3) ?? 0,
                    messagesLost: gaps.int64(row, 4) ?? 0, detectedAt: gaps.value(row, 5) ?? "",
                    ageSeconds: gaps.value(row, 6).flatMap(Double.init) ?? 0, detectedBy: gaps.value(row, 7) ?? "",
                    isNew: gaps.value(row, 8) == "t")
            })
    }

    // MARK: - Kafka

    /// Adds every partition's watermarks and lag; partitions Kafka has but etl.offsets lacks are
    /// added. When Kafka cannot be read, `kafkaError` says so and the rest stands.
    public static func addWatermarks(
        to report: inout StatusReport, brokers: String, properties: [String: String], timeoutMs: Int32
    ) {
        do {
            try readWatermarks(into: &report, brokers: brokers, properties: properties, timeoutMs: timeoutMs)
        } catch {
            report.kafkaError = "cannot read high watermarks of topic '\(report.topic)' from \(brokers): \(error)"
        }
    }

    private static func readWatermarks(
        into report: inout StatusReport, brokers: String, properties: [String: String], timeoutMs kafkaTimeoutMs: Int32
    ) throws {
        var config = RDKafkaConfig([
            "bootstrap.servers": brokers,
            "client.id": "pipeline-status",
            "group.id": "pipeline-status",  // never joined: status only queries watermarks
            "enable.auto.commit": "false",
            // Errors come back as thrown KafkaErrors; librdkafka's stderr lines would repeat them.
            "log_level": "2",
        ])
        for (key, value) in properties { config[key] = value }
        let consumer = try RDKafkaConsumer(config: config, rebalanceHandler: nil)
        defer { consumer.close() }
        let count = try consumer.partitionCount(topic: report.topic, timeoutMs: kafkaTimeoutMs)
        var byNumber = Dictionary(uniqueKeysWithValues: report.partitions.map { ($0.partition, $0) })
        for number in 0..<count {
            let marks = try consumer.queryWatermarks(
                RDKafkaTopicPartition(topic: report.topic, partition: number), timeoutMs: kafkaTimeoutMs)
            var partition = byNumber[number] ?? StatusReport.Partition(partition: number)
            partition.lowWatermark = marks.low
            partition.highWatermark = marks.high
            partition.lag = max(0, marks.high - (partition.nextOffset ?? marks.low))
            byNumber[number] = partition
        }
        report.partitions = byNumber.values.sorted { $0.partition < $1.partition }
        report.kafkaChecked = true
        report.totalLag = report.partitions.reduce(0) { $0 + ($1.lag ?? 0) }
    }
}
