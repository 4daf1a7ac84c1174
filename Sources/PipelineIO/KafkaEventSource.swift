import Logging
import PipelineCore
import RdKafka

/// The worker's Kafka side over librdkafka: a group member (or, without a
/// group, the owner of every partition), fetching from where PostgreSQL
/// says each partition was loaded. Used by the worker's thread only.
public final class KafkaEventSource: EventSource, RDKafkaRebalanceHandler {
    public struct Settings: Sendable {
        public var brokers: String
        public var topic: String
        /// nil: no consumer group; every partition is assigned directly (fine for
        /// --available-now and single workers; fencing still protects the offsets).
        public var group: String?
        public var clientID: String
        /// Passed through to librdkafka last, so they win (security.protocol, sasl.*, ...).
        public var properties: [String: String]

        public init(
            brokers: String, topic: String, group: String?, clientID: String, properties: [String: String] = [:]
        ) {
            self.brokers = brokers
            self.topic = topic
            self.group = group
            self.clientID = clientID
            self.properties = properties
        }
    }

    public weak var assignmentListener: (any AssignmentListener)?
    private let settings: Settings
    private let logger: Logger
    private var consumer: RDKafkaConsumer?
    /// A fatal client error seen in a callback, thrown from the next poll.
    private var fatalError: KafkaError?

    static let requestTimeoutMs: Int32 = 10_000

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func start() throws {
        var config = RDKafkaConfig([
            "bootstrap.servers": settings.brokers,
            "client.id": settings.clientID,
            // Offsets live in PostgreSQL; Kafka's are a courtesy we commit ourselves.
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            // A position outside the log must surface (as a gap), never be silently reset.
            "auto.offset.reset": "error",
            // --available-now needs to know when a partition has been read to its end.
            "enable.partition.eof": "true",
            // Back-pressure: the worker fetches per batch on one thread, so while a batch
            // waits on PostgreSQL, librdkafka's prefetch queue is all that grows. Its default
            // (64 MiB, overshot by a whole fetch response of up to fetch.max.bytes, 50 MiB)
            // is capped at 16 MiB and one 16 MiB response. Peak RSS of a debug worker held back
            // by a locked staging table with 40 MiB waiting in Kafka (SlowDatabaseTests):
            // 102 MiB with the defaults, 86 MiB with these. --kafka-property overrides both.
            "queued.max.messages.kbytes": "16384",
            "fetch.max.bytes": "16777216",
            // A broker answers a fetch as soon as it has data, but one that waits out the whole
            // max wait instead (librdkafka's mock cluster, `pipeline dev-kafka`: "If there was no
            // data, delay up to MaxWait" in rdkafka_mock_handlers.c) adds up to it to every
            // event's latency: 500 ms (the default) put p95 ingest latency at 1.8 s with
            // --interval 1s at 5000 events/s (scripts/bench), 100 ms at 1.4 s. Costs ten empty
            // fetches a second per broker when idle.
            "fetch.wait.max.ms": "100",
            // Client errors reach us through the error callback and our log; librdkafka's own
            // stderr lines would repeat them. `--kafka-property log_level=7` brings them back.
            "log_level": "2",
        ])
        config["group.id"] = settings.group ?? "pipeline-\(settings.clientID)"
        for (key, value) in settings.properties { config[key] = value }
        let consumer = try RDKafkaConsumer(config: config, rebalanceHandler: self)
        self.consumer = consumer
        if settings.group != nil {
            try consumer.subscribe(topics: [settings.topic])
            return
        }
        let count = try consumer.partitionCount(topic: settings.topic, timeoutMs: Self.requestTimeoutMs)
        let partitions = (0..<count).map { RDKafkaTopicPartition(topic: settings.topic, partition: $0) }
        guard let offsets = startOffsets(forAssigned: partitions) else { return }
        try consumer.assign(zip(partitions, offsets).map { ($0, offset: $1) })
    }

    public func poll(maxMessages: Int, timeoutMs: Int32, _ body: (SourceEvent) -> Void) throws {
        guard let consumer else { return }
        consumer.poll(maxMessages: maxMessages, timeoutMs: timeoutMs) { view in
            guard let code = view.errorCode else {
                body(
                    .message(
                        IncomingMessage(
                            partition: view.partition, offset: view.offset, timestampMs: view.timestampMs,
                            key: view.key,
                            payload: view.payload)))
                return
            }
            switch code {
            case .partitionEOF:
                body(.endOfPartition(partition: view.partition, offset: view.offset))
            case .autoOffsetReset, .offsetOutOfRange:
                body(.positionOutOfRange(partition: view.partition))
            default:
                kafkaError(view.error())
            }
        }
        if let fatalError { throw fatalError }
    }

    public func watermarks(partition: Int32) throws -> (low: Int64, high: Int64) {
        guard let consumer else { throw KafkaError(code: .state, message: "the Kafka consumer is not started") }
        return try consumer.queryWatermarks(
            RDKafkaTopicPartition(topic: settings.topic, partition: partition), timeoutMs: Self.requestTimeoutMs)
    }

    public func seek(partition: Int32, to offset: Int64) throws {
        try consumer?.seek(
            RDKafkaTopicPartition(topic: settings.topic, partition: partition), to: offset,
            timeoutMs: Self.requestTimeoutMs)
    }

    public func reportLoaded(_ nextOffsets: [(partition: Int32, nextOffset: Int64)]) {
        guard settings.group != nil, let consumer else { return }
        do {
            try consumer.commitAsync(
                nextOffsets.map {
                    (RDKafkaTopicPartition(topic: settings.topic, partition: $0.partition), offset: $0.nextOffset)
                })
        } catch {
            logger.debug("courtesy offset commit to Kafka failed", metadata: [LogKeys.error: "\(error)"])
        }
    }

    public func close() {
        consumer?.close()
        consumer = nil
    }

    public func cachedHighWatermark(partition: Int32) -> Int64? {
        consumer?.cachedHighWatermark(RDKafkaTopicPartition(topic: settings.topic, partition: partition))
    }

    // MARK: - RDKafkaRebalanceHandler

    public func startOffsets(forAssigned partitions: [RDKafkaTopicPartition]) -> [Int64]? {
        guard let listener = assignmentListener else { return nil }
        return listener.partitionsAssigned(partitions.map(\.partition))
    }

    public func partitionsRevoked(_ partitions: [RDKafkaTopicPartition]) {
        assignmentListener?.partitionsRevoked(partitions.map(\.partition))
    }

    public func kafkaError(_ error: KafkaError) {
        if error.isFatal {
            fatalError = error
            logger.critical("fatal Kafka client error", metadata: [LogKeys.error: "\(error)"])
        } else {
            logger.warning("Kafka client error (librdkafka retries by itself)", metadata: [LogKeys.error: "\(error)"])
        }
    }
}
