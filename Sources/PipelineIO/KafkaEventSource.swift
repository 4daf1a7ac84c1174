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
        /// Message bytes taken ahead of the worker's poll while its batches commit (PrefetchBuffer).
        public var prefetchBytes: Int

        public init(
            brokers: String, topic: String, group: String?, clientID: String, properties: [String: String] = [:],
            prefetchBytes: Int = 32 << 20
        ) {
            self.brokers = brokers
            self.topic = topic
            self.group = group
            self.clientID = clientID
            self.properties = properties
            self.prefetchBytes = prefetchBytes
        }
    }

    public weak var assignmentListener: (any AssignmentListener)?
    private let settings: Settings
    private let logger: Logger
    private var consumer: RDKafkaConsumer?
    /// A fatal client error seen in a callback, thrown from the next poll.
    private var fatalError: KafkaError?
    /// What `prefetch` took while the worker's batches committed, for the next `poll`.
    private var prefetched: PrefetchBuffer
    private var nudger = FetchNudger(queueBytes: 0)

    static let requestTimeoutMs: Int32 = 10_000

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.prefetched = PrefetchBuffer(byteLimit: settings.prefetchBytes)
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
            // Back-pressure: while a batch waits on PostgreSQL the worker copies what librdkafka
            // fetched into its own buffer (PrefetchBuffer, 32 MiB: a message costs its bytes
            // there, about three times that in librdkafka's queue) and then stops taking, so
            // librdkafka's prefetch queue is what grows beyond it. Its default (64 MiB,
            // overshot by a whole fetch response of up to fetch.max.bytes, 50 MiB) is capped at
            // 8 MiB and one 16 MiB response; FetchNudger keeps it fetching as the worker takes.
            // Peak RSS on 1 000 000 events of either bench data set: 130-137 MB (BENCHMARKS.md,
            // "Eighth session"). --kafka-property overrides both.
            "queued.max.messages.kbytes": "8192",
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
        if !FetchNudger.isNeeded {
            // With a full queue, librdkafka 2.2+ fetches again after this (1 s by default, which
            // capped loading at one queue a second: FetchNudger); older versions need the nudge.
            config["fetch.queue.backoff.ms"] = "50"
        }
        config["group.id"] = settings.group ?? "pipeline-\(settings.clientID)"
        for (key, value) in settings.properties { config[key] = value }
        nudger = FetchNudger(queueBytes: (Int(config["queued.max.messages.kbytes"] ?? "") ?? 65_536) * 1024)
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
        let replayed = prefetched.replay(maxCount: maxMessages, error: kafkaError, body)
        if prefetched.isEmpty, replayed < maxMessages {
            consumer.poll(maxMessages: maxMessages - replayed, timeoutMs: replayed > 0 ? 0 : timeoutMs) { view in
                nudger.taken(bytes: view.payload?.count ?? 0)
                if let event = view.sourceEvent { body(event) } else { kafkaError(view.error()) }
            }
            nudger.nudgeIfDue(consumer, topic: settings.topic)
        }
        if let fatalError { throw fatalError }
    }

    /// Copies what librdkafka has fetched into `prefetched` (see there for why) until it is full;
    /// rebalances wait for the next `poll`, which replays the copies first.
    public func prefetch(timeoutMs: Int32) -> Bool {
        guard let consumer, fatalError == nil, prefetched.hasRoom, !consumer.holdsRebalance else { return false }
        consumer.prefetch(timeoutMs: timeoutMs) { view in
            nudger.taken(bytes: view.payload?.count ?? 0)
            prefetched.append(view)
            return prefetched.hasRoom
        }
        nudger.nudgeIfDue(consumer, topic: settings.topic)
        return prefetched.hasRoom && !consumer.holdsRebalance
    }

    public func watermarks(partition: Int32) throws -> (low: Int64, high: Int64) {
        guard let consumer else { throw KafkaError(code: .state, message: "the Kafka consumer is not started") }
        return try consumer.queryWatermarks(
            RDKafkaTopicPartition(topic: settings.topic, partition: partition), timeoutMs: Self.requestTimeoutMs)
    }

    public func seek(partition: Int32, to offset: Int64) throws {
        prefetched.drop(partition: partition)
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
        prefetched.removeAll()
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

extension RDKafkaMessageView {
    /// The message or event as the worker sees it, borrowed like the view; nil for a client error
    /// (`error()` says which).
    var sourceEvent: SourceEvent? {
        guard let code = errorCode else {
            return .message(
                IncomingMessage(
                    partition: partition, offset: offset, timestampMs: timestampMs, key: key, payload: payload))
        }
        switch code {
        case .partitionEOF: return .endOfPartition(partition: partition, offset: offset)
        case .autoOffsetReset, .offsetOutOfRange: return .positionOutOfRange(partition: partition)
        default: return nil
        }
    }
}
