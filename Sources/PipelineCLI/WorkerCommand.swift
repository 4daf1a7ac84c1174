import ArgumentParser
import EventContract
import Foundation
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
        help: Settings.interval.help("Close a batch this long after the one before it closed", valueName: "DURATION"))
    var interval: String?

    @Option(help: Settings.maxBatchEvents.help("Close a batch at this many messages", valueName: "N"))
    var maxBatchEvents: String?

    @Option(help: Settings.maxBatchBytes.help("Close a batch at this many bytes of message values", valueName: "SIZE"))
    var maxBatchBytes: String?

    @Option(
        help: Settings.connections.help(
            "PostgreSQL connections a batch is loaded over. COPY runs on one core per backend; with N, each cycle's messages are split by partition (number modulo N) into N transactions committed in parallel, one ledger row each. 1 loads each cycle in one transaction",
            valueName: "N"))
    var connections: String?

    @Option(
        help: Settings.startFrom.help("Where a partition with no etl.offsets row starts", valueName: "POSITION"))
    var startFrom: String?

    @Flag(help: "Load what the assigned partitions hold now, then exit 0.")
    var availableNow = false

    @Option(
        help: Settings.refreshInterval.help(
            "Refresh the aggregates at most this often while loading; `end`: only once, before exiting",
            valueName: "DURATION"))
    var refreshInterval: String?

    @Option(
        help: Settings.sessionInterval.help(
            "Merge the session windows at most this often while loading (analytics.user_sessions trails the other views by about this much)",
            valueName: "DURATION"))
    var sessionInterval: String?

    @Option(help: Settings.maxMessageBytes.help("Reject messages larger than this", valueName: "SIZE"))
    var maxMessageBytes: String?

    @Option(help: Settings.workerID.help("Name in etl.batches and logs", valueName: "ID"))
    var workerID: String?

    @Option(help: Settings.logLevel.help("How much to log", valueName: "LEVEL"))
    var logLevel: String?

    func run() throws {
        MallocSettings.applyForWorker()
        // Everything is resolved and checked before anything connects: a bad value costs nothing.
        let level = try Settings.logLevel.resolve(logLevel)
        let id =
            try Settings.workerID.resolveOptional(workerID) ?? "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        let topic = try kafka.topic()
        var configuration = WorkerConfiguration(topic: topic, workerID: id)
        configuration.intervalMs = try Settings.interval.resolve(interval)
        configuration.maxBatchEvents = try Settings.maxBatchEvents.resolve(maxBatchEvents)
        configuration.maxBatchBytes = try Settings.maxBatchBytes.resolve(maxBatchBytes)
        configuration.startFrom = try Settings.startFrom.resolve(startFrom)
        configuration.availableNow = availableNow
        configuration.limits.maxMessageBytes = try Settings.maxMessageBytes.resolve(maxMessageBytes)
        let connectionCount = try Settings.connections.resolve(connections)
        let refreshEvery = try Settings.refreshInterval.resolve(refreshInterval)
        let sessionsEvery = try Settings.sessionInterval.resolve(sessionInterval)
        // Checked even with --no-group: a bad value is an error wherever it is ignored.
        let namedGroup = try Settings.group.resolve(group)
        let groupName: String? = noGroup ? nil : namedGroup
        let brokers = try kafka.brokers()
        let properties = try kafka.properties()
        let databaseURL = try database.url()
        let listener = try metrics.listener()

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "pipeline.worker")
        let source = KafkaEventSource(
            settings: .init(brokers: brokers, topic: topic, group: groupName, clientID: id, properties: properties),
            logger: logger)
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
                LogKeys.workerID: "\(id)", LogKeys.topic: "\(topic)", LogKeys.group: "\(groupName ?? "(none)")",
                LogKeys.database: "\(DatabaseURL.redacted(databaseURL))", LogKeys.connections: "\(connectionCount)",
            ])
        let telemetry = try WorkerTelemetry.start(listener, databaseURL: databaseURL, logger: logger)
        defer { telemetry?.stop() }
        let metrics = telemetry?.metrics
        let refresher = AggregateRefresher(
            databaseURL: databaseURL, minimumIntervalMs: refreshEvery.minimumIntervalMs,
            sessionIntervalMs: Int64(sessionsEvery), logger: logger,
            sessionLagMeasured: { metrics?.sessionWindowsLagged(seconds: $0) })
        let worker = Worker(
            source: source, sinks: sinks, configuration: configuration, stopSignal: stopSignal, logger: logger,
            observers: [refresher] + (telemetry.map { [$0.observer] } ?? []))
        let summary = try worker.run()
        refresher.finish()
        logger.info(
            "worker stopped",
            metadata: [
                LogKeys.batches: "\(summary.batches)", LogKeys.events: "\(summary.events)",
                LogKeys.rejected: "\(summary.rejected)", LogKeys.duplicates: "\(summary.duplicates)",
                LogKeys.conflicts: "\(summary.conflicts)", LogKeys.fencedBatches: "\(summary.fencedBatches)",
                LogKeys.droppedBatches: "\(summary.droppedBatches)", LogKeys.gaps: "\(summary.gaps)",
            ])
    }
}
