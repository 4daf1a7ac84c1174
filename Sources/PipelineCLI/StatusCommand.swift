import ArgumentParser
import Foundation
import LibPQ
import RdKafka

/// `pipeline status`: offsets, lag, last batch, watermark, rejections and gaps; exits 2 when unhealthy.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the pipeline's health; exit 2 when it is unhealthy (usable as a container healthcheck).",
        discussion: """
            Reads etl.offsets, etl.batches, etl.watermarks, etl.rejected_events and etl.gaps; with Kafka \
            brokers (--brokers, PIPELINE_BROKERS or .data/kafka.bootstrap) it also reads each partition's \
            high watermark and shows the lag. Unhealthy: no batch committed within --max-idle, or a gap \
            detected within --max-idle. Exit status: 0 healthy, 2 unhealthy, 1 when status itself failed.
            """)

    /// The exit status when the pipeline is unhealthy (1 is ArgumentParser's for errors).
    static let unhealthyExitCode: Int32 = 2
    static let kafkaTimeoutMs: Int32 = 5_000

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions

    @Option(
        help: Settings.maxIdle.help(
            "Unhealthy when no batch was committed for this long, or a gap was detected this recently",
            valueName: "DURATION"))
    var maxIdle: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func run() throws {
        let maxIdleMs = try Settings.maxIdle.resolve(maxIdle)
        let topic = try kafka.topic()
        let url = try database.url()
        let properties = try kafka.properties()
        // No --brokers, PIPELINE_BROKERS or .data/kafka.bootstrap: the Kafka columns stay empty.
        // A bad value is an error, though, before anything connects.
        let brokers: String?
        do { brokers = try kafka.brokers() } catch is ValidationError { brokers = nil }
        var report = try Self.readDatabase(url: url, topic: topic, maxIdleMs: maxIdleMs)
        if let brokers {
            do {
                try Self.addWatermarks(to: &report, brokers: brokers, properties: properties)
            } catch let error as KafkaError {
                report.kafkaError =
                    "cannot read high watermarks of topic '\(topic)' from \(brokers): \(error). Check --brokers and that the topic exists; lag is not shown."
            }
        }
        Self.judge(&report)
        print(json ? try report.json() : Self.render(report))
        if !report.healthy { throw ExitCode(Self.unhealthyExitCode) }
    }

    // MARK: - PostgreSQL

    private static func utc(_ column: String) -> String {
        "to_char((\(column)) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    }

    static func readDatabase(url: String, topic: String, maxIdleMs: Int) throws -> StatusReport {
        let connection = try PQConnection(url)
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
                   (SELECT coalesce(sum(extract(epoch FROM next_to - range_from)), 0) / 3600 FROM etl.rebuild_requests)
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
                batchesWaiting: aggregates.int64(0, 0) ?? 0, oldestWaitingSeconds: aggregates.value(0, 1).flatMap(Double.init),
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

    /// Reads every partition's watermarks; partitions Kafka has but etl.offsets lacks are added.
    static func addWatermarks(to report: inout StatusReport, brokers: String, properties: [String: String]) throws {
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

    // MARK: - Health

    static func judge(_ report: inout StatusReport) {
        let maxIdle = formatAge(seconds: report.maxIdleSeconds)
        if let batch = report.lastBatch {
            if batch.ageSeconds > report.maxIdleSeconds {
                report.problems.append(
                    "no batch committed for \(formatAge(seconds: batch.ageSeconds)) (more than --max-idle \(maxIdle)): is a worker running and reaching Kafka and PostgreSQL? Check its log."
                )
            }
        } else {
            report.problems.append(
                "no batch committed yet for topic '\(report.topic)': start `pipeline worker`, or check --topic.")
        }
        let new = report.gaps.filter(\.isNew)
        if !new.isEmpty {
            let lost = new.reduce(0) { $0 + $1.messagesLost }
            report.problems.append(
                "\(new.count) gap(s) detected within the last \(maxIdle), \(lost) message(s) lost to Kafka retention: see etl.gaps; the worker is falling behind retention."
            )
        }
        report.healthy = report.problems.isEmpty
    }

    // MARK: - Table

    static func render(_ report: StatusReport) -> String {
        var out: [String] = []
        out.append(
            report.healthy
                ? "HEALTHY  topic '\(report.topic)'"
                : "UNHEALTHY  topic '\(report.topic)'\n" + report.problems.map { "  - \($0)" }.joined(separator: "\n"))

        out.append("")
        var header = "partitions"
        if let error = report.kafkaError {
            header += " (Kafka: \(error))"
        } else if !report.kafkaChecked {
            header += " (no brokers given: lag not shown; pass --brokers)"
        } else if let lag = report.totalLag {
            header += " (total lag \(lag))"
        }
        out.append(header)
        var partitions = TextTable(
            headers: ["partition", "next offset", "high watermark", "lag", "updated", "by"],
            rightAligned: [0, 1, 2, 3])
        partitions.rows = report.partitions.map { p in
            [
                String(p.partition), p.nextOffset.map(String.init) ?? "-", p.highWatermark.map(String.init) ?? "-",
                p.lag.map(String.init) ?? "-", p.updatedAgeSeconds.map { formatAge(seconds: $0) + " ago" } ?? "-",
                p.updatedBy ?? "-",
            ]
        }
        out.append(
            report.partitions.isEmpty ? "  none (no offsets stored, no Kafka partitions read)" : partitions.render())

        out.append("")
        if let batch = report.lastBatch {
            out.append(
                "last batch  #\(batch.batchID) by \(batch.workerID): \(batch.events) events, \(batch.rejected) rejected, committed \(batch.committedAt) (\(formatAge(seconds: batch.ageSeconds)) ago)"
            )
        } else {
            out.append("last batch  none")
        }
        let totals = report.totals
        out.append("all batches \(totals.batches): \(totals.events) events, \(totals.rejected) rejected")
        if let mark = report.watermark {
            out.append(
                "watermark   \(mark.watermark ?? "-") (max event time \(mark.maxEventTime) - allowed lateness \(mark.allowedLateness ?? "-"))"
            )
        } else {
            out.append("watermark   none (no events loaded)")
        }
        let backlog = report.aggregates
        let waiting =
            backlog.batchesWaiting == 0
            ? "up to date"
            : "\(backlog.batchesWaiting) batch(es) waiting for a refresh, the oldest for \(formatAge(seconds: backlog.oldestWaitingSeconds ?? 0))"
        let rebuilds =
            backlog.rebuildRequests == 0
            ? "no rebuild pending"
            : "\(backlog.rebuildRequests) rebuild(s) pending, \(Int(backlog.rebuildHoursLeft.rounded(.up))) hour(s) left (pipeline refresh works through them)"
        out.append("aggregates  \(waiting); \(rebuilds)")

        out.append("")
        out.append("rejections in the last hour")
        var rejections = TextTable(headers: ["reason", "count"], rightAligned: [1])
        rejections.rows = report.rejectionsLastHour.map { [$0.reason, String($0.count)] }
        out.append(report.rejectionsLastHour.isEmpty ? "  none" : rejections.render())

        out.append("")
        out.append("gaps (newest first; * = detected within --max-idle)")
        var gaps = TextTable(
            headers: ["", "partition", "offsets", "lost", "detected", "age", "by"], rightAligned: [1, 3])
        gaps.rows = report.gaps.map { g in
            [
                g.isNew ? "*" : "", String(g.partition), "\(g.firstOffset)-\(g.lastOffset)", String(g.messagesLost),
                g.detectedAt, formatAge(seconds: g.ageSeconds), g.detectedBy,
            ]
        }
        out.append(report.gaps.isEmpty ? "  none" : gaps.render())
        return out.joined(separator: "\n")
    }
}
