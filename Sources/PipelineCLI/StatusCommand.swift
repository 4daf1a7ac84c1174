import ArgumentParser
import Foundation
import PipelineIO

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
        var report = try StatusReader.read(databaseURL: url, topic: topic, maxIdleMs: maxIdleMs)
        if let brokers {
            StatusReader.addWatermarks(
                to: &report, brokers: brokers, properties: properties, timeoutMs: Self.kafkaTimeoutMs)
            if let error = report.kafkaError {
                report.kafkaError = "\(error). Check --brokers and that the topic exists; lag is not shown."
            }
        }
        Self.judge(&report)
        print(json ? try report.json() : Self.render(report))
        if !report.healthy { throw ExitCode(Self.unhealthyExitCode) }
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
        out.append(
            backlog.sessionBatchesWaiting == 0
                ? "sessions    up to date"
                : "sessions    \(backlog.sessionBatchesWaiting) batch(es) waiting for the session merge, the oldest for \(formatAge(seconds: backlog.oldestSessionWaitSeconds ?? 0))"
        )

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
