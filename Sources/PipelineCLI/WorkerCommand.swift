import ArgumentParser
import EventContract
import Foundation
import LibPQ
import Logging
import PipelineCore
import PipelineIO

/// `pipeline worker`: the exactly-once micro-batch loader.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Load events from Kafka into PostgreSQL in micro-batches, exactly once.",
        discussion: """
            Each batch (closed by --interval, --max-batch-events or --max-batch-bytes) is validated against \
            the event contract and loaded in ONE transaction: accepted rows into staging.events, rejected ones \
            into etl.rejected_events, the partitions' offsets advanced in etl.offsets (fenced against zombies) \
            and a ledger row in etl.batches. SIGINT/SIGTERM: the in-flight batch is committed (or dropped if \
            the database is unreachable), the consumer leaves the group, exit 0.
            """)

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var metrics: MetricsOptions

    @Option(
        help: ArgumentHelp(
            "Consumer group (env: PIPELINE_GROUP; default: pipeline). Use --no-group to assign every partition to this worker without a group.",
            valueName: "NAME"))
    var group: String?

    @Flag(
        help:
            "Take every partition directly instead of joining a group (saves the ~3 s group join; one worker per topic)."
    )
    var noGroup = false

    @Option(
        help: ArgumentHelp("Close a batch after this long (env: PIPELINE_INTERVAL; default 1s).", valueName: "DURATION")
    )
    var interval: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "Close a batch at this many messages (env: PIPELINE_MAX_BATCH_EVENTS; default 50000).", valueName: "N"))
    var maxBatchEvents: Int?

    @Option(
        help: ArgumentHelp(
            "Close a batch at this many bytes of message values (env: PIPELINE_MAX_BATCH_BYTES; default 64MiB).",
            valueName: "SIZE"))
    var maxBatchBytes: ByteSize?

    @Option(
        help: ArgumentHelp(
            "PostgreSQL connections a batch is loaded over, 1 to 16 (env: PIPELINE_CONNECTIONS; default 2). COPY runs on one core per backend; with N, each cycle's messages are split by partition (number modulo N) into N transactions committed in parallel, one ledger row each. 1 loads each cycle in one transaction.",
            valueName: "N"))
    var connections: Int?

    @Option(
        help: ArgumentHelp(
            "Where a partition with no etl.offsets row starts: earliest or latest (env: PIPELINE_START_FROM; default earliest).",
            valueName: "POSITION"))
    var startFrom: StartPosition?

    @Flag(help: "Load what the assigned partitions hold now, then exit 0.")
    var availableNow = false

    @Option(
        help: ArgumentHelp(
            "Refresh the aggregates at most this often while loading; `end`: only once, before exiting (env: PIPELINE_REFRESH_INTERVAL; default 0s: after every batch, on a connection of its own).",
            valueName: "DURATION"))
    var refreshInterval: RefreshInterval?

    @Option(
        help: ArgumentHelp(
            "Reject messages larger than this (env: PIPELINE_MAX_MESSAGE_BYTES; default 1MiB).", valueName: "SIZE"))
    var maxMessageBytes: ByteSize?

    @Option(
        help: ArgumentHelp(
            "Name in etl.batches and logs (env: PIPELINE_WORKER_ID; default: host-pid).", valueName: "ID"))
    var workerID: String?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical (env: PIPELINE_LOG_LEVEL; default info).",
            valueName: "LEVEL"))
    var logLevel: Logger.Level?

    func run() throws {
        let level = try Environment.resolve(logLevel, "PIPELINE_LOG_LEVEL", default: .info)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "pipeline.worker")
        let id =
            workerID ?? Environment.value("PIPELINE_WORKER_ID") ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let topic = try kafka.topic()

        var configuration = WorkerConfiguration(topic: topic, workerID: id)
        configuration.intervalMs = try Environment.resolve(
            interval, "PIPELINE_INTERVAL", default: DurationArgument(milliseconds: 1000)
        ).milliseconds
        configuration.maxBatchEvents = try Environment.resolve(
            maxBatchEvents, "PIPELINE_MAX_BATCH_EVENTS", default: 50_000)
        configuration.maxBatchBytes = try Environment.resolve(
            maxBatchBytes, "PIPELINE_MAX_BATCH_BYTES", default: ByteSize(bytes: 64 << 20)
        ).bytes
        configuration.startFrom = try Environment.resolve(startFrom, "PIPELINE_START_FROM", default: .earliest)
        configuration.availableNow = availableNow
        configuration.limits.maxMessageBytes = try Environment.resolve(
            maxMessageBytes, "PIPELINE_MAX_MESSAGE_BYTES", default: ByteSize(bytes: 1 << 20)
        ).bytes
        guard configuration.maxBatchEvents > 0, configuration.intervalMs > 0 else {
            throw ValidationError("--max-batch-events and --interval must be positive")
        }
        let connectionCount = try Environment.resolve(connections, "PIPELINE_CONNECTIONS", default: 2)
        guard Self.connectionRange.contains(connectionCount) else {
            throw ValidationError(
                "--connections (or PIPELINE_CONNECTIONS) must be between \(Self.connectionRange.lowerBound) and \(Self.connectionRange.upperBound), not \(connectionCount)"
            )
        }

        let groupName: String? =
            noGroup
            ? nil
            : try group.map { try KafkaNames.validated($0, kind: "group", source: "--group") }
                ?? Environment.value("PIPELINE_GROUP").map {
                    try KafkaNames.validated($0, kind: "group", source: "PIPELINE_GROUP")
                } ?? "pipeline"
        let source = KafkaEventSource(
            settings: .init(
                brokers: try kafka.brokers(), topic: topic, group: groupName, clientID: id,
                properties: try kafka.properties()),
            logger: logger)
        let databaseURL = try database.url()
        // One sink per lane: each owns its connection.
        let sinks = (0..<connectionCount).map { _ in
            PostgresEventSink(databaseURL: databaseURL, topic: topic, workerID: id, logger: logger)
        }
        let stopSignal = StopSignal()
        let signalSources = SignalHandling.install(stopSignal: stopSignal, logger: logger)
        defer { signalSources.forEach { $0.cancel() } }

        logger.info(
            "worker starting",
            metadata: [
                LogKeys.workerID: "\(id)", LogKeys.topic: "\(topic)", "kafka.group": "\(groupName ?? "(none)")",
                "pg.database": "\(ConnectionString.redacted(databaseURL))", "pg.connections": "\(connectionCount)",
            ])
        let telemetry = try WorkerTelemetry.start(metrics, databaseURL: databaseURL, logger: logger)
        defer { telemetry?.stop() }
        let refreshEvery = try Environment.resolve(
            refreshInterval, "PIPELINE_REFRESH_INTERVAL",
            default: .every(DurationArgument(milliseconds: 0)))
        let refresher = AggregateRefresher(
            databaseURL: databaseURL, minimumIntervalMs: refreshEvery.minimumIntervalMs, logger: logger)
        let worker = Worker(
            source: source, sinks: sinks, configuration: configuration, stopSignal: stopSignal, logger: logger,
            observers: [refresher] + (telemetry.map { [$0.observer] } ?? []))
        let summary = try worker.run()
        refresher.finish()
        logger.info(
            "worker stopped",
            metadata: [
                "batches": "\(summary.batches)", LogKeys.events: "\(summary.events)",
                LogKeys.rejected: "\(summary.rejected)", LogKeys.duplicates: "\(summary.duplicates)",
                LogKeys.conflicts: "\(summary.conflicts)",
                "fenced": "\(summary.fencedBatches)", "dropped": "\(summary.droppedBatches)", "gaps": "\(summary.gaps)",
            ])
    }
}

extension WorkerCommand {
    /// More connections than cores buys nothing; 16 bounds the backends one worker holds.
    static let connectionRange = 1...16
}

extension StartPosition: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
