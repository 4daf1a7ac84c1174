import CRdKafka

/// A Kafka consumer over librdkafka's high-level (group) consumer.
///
/// Not `Sendable`: one thread polls it. librdkafka serves the rebalance and error callbacks on
/// whichever thread calls `poll`, and the handler they reach is not thread-safe.
///
/// Offsets in Kafka are a courtesy here, never the source of truth, so unless the configuration
/// says otherwise, `enable.auto.commit` and `enable.auto.offset.store` are off: nothing is
/// committed except through `commitAsync`.
public final class RDKafkaConsumer {
    private let client: RDKafkaClient
    private let callbacks: RDKafkaConsumerCallbacks
    /// The consumer queue, which also carries the main queue's events (errors, logs) after
    /// `rd_kafka_poll_set_consumer`. nil after `close`: librdkafka requires this reference to be
    /// dropped before `rd_kafka_consumer_close`.
    private var queue: OpaquePointer?
    private var isClosed = false
    /// False when `group.id` was made up for manual assignment: `subscribe` must not join that.
    private let hasGroupID: Bool

    /// - Parameter rebalanceHandler: kept weakly (see `RDKafkaRebalanceHandler`); nil lets
    ///   librdkafka start assigned partitions at the committed offsets.
    public init(config: RDKafkaConfig, rebalanceHandler: (any RDKafkaRebalanceHandler)?) throws {
        var config = config
        self.hasGroupID = config["group.id"] != nil
        if let strategy = config["partition.assignment.strategy"], strategy.contains("cooperative") {
            throw KafkaError(
                code: .invalidArgument,
                message: "partition.assignment.strategy \"\(strategy)\" uses the COOPERATIVE rebalance "
                    + "protocol, which this consumer does not support.",
                isRetriable: false,
                remedy: "Use range or roundrobin: start offsets are re-read from PostgreSQL on "
                    + "every (EAGER) rebalance.",
                property: "partition.assignment.strategy")
        }
        // librdkafka's assign needs a consumer group object, which exists only with a group.id;
        // a consumer that only ever assigns manually gets a private one it never joins (only
        // `subscribe` joins a group) and never commits to (unless asked).
        config.setDefault(
            "group.id",
            "rdkafka-swift-unsubscribed-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))")
        config.setDefault("enable.auto.commit", "false")
        config.setDefault("enable.auto.offset.store", "false")
        let callbacks = RDKafkaConsumerCallbacks(handler: rebalanceHandler)
        let client = try RDKafkaClient(
            kind: .consumer, config: config, callbackBox: callbacks,
            installCallbacks: RDKafkaConsumerCallbacks.install(on:))
        self.client = client
        self.callbacks = callbacks
        self.queue = client.withKafkaPointer { kafkaHandle in
            // Never fails with a group.id, which we always have; the main queue is the fallback
            // librdkafka itself would use without one.
            if rd_kafka_poll_set_consumer(kafkaHandle) == RD_KAFKA_RESP_ERR_NO_ERROR,
                let consumerQueue = rd_kafka_queue_get_consumer(kafkaHandle)
            {
                return consumerQueue
            }
            return rd_kafka_queue_get_main(kafkaHandle)
        }
    }

    deinit {
        // Before the client's deinit (rd_kafka_destroy, which also closes the consumer if we did
        // not): the queue reference must be gone first.
        if let queue { rd_kafka_queue_destroy(queue) }
    }

    /// Joins the consumer group (needs `group.id`) and follows `topics`; partitions arrive through
    /// the rebalance handler during `poll`.
    public func subscribe(topics: [String]) throws {
        guard hasGroupID else {
            throw KafkaError(
                code: .invalidArgument,
                message: "Subscribing needs a consumer group, and no group.id is set.",
                isRetriable: false, remedy: "Set the consumer group (group.id).", property: "group.id")
        }
        let list = RDKafkaTopicPartitionList(
            topics.map { RDKafkaTopicPartition(topic: $0, partition: -1) })
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                try client.check(
                    rd_kafka_subscribe(kafkaHandle, listPointer), "Subscribe to \(topics)")
            }
        }
    }

    /// Manual assignment: no group membership and no rebalances (do not mix with `subscribe`).
    /// Offsets as in `RDKafkaOffset`.
    public func assign(_ partitions: [(RDKafkaTopicPartition, offset: Int64)]) throws {
        let list = RDKafkaTopicPartitionList(partitions)
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                try client.check(rd_kafka_assign(kafkaHandle, listPointer), "Assign")
            }
        }
    }

    public func unassign() throws {
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try client.check(rd_kafka_assign(kafkaHandle, nil), "Unassign")
        }
    }

    public func assignment() throws -> [RDKafkaTopicPartition] {
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            var listPointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            try client.check(rd_kafka_assignment(kafkaHandle, &listPointer), "Assignment")
            guard let listPointer else { return [] }
            return RDKafkaTopicPartitionList(adopting: listPointer).partitions
        }
    }

    /// Serves callbacks (rebalance, errors) and hands each fetched message to `body`, borrowed: the
    /// view and its buffers are valid only until `body` returns, when the message is destroyed.
    ///
    /// Waits up to `timeoutMs` for the first message, then takes what is already queued without
    /// waiting, up to `maxMessages`. (librdkafka 2.0.2's `rd_kafka_consume_batch_queue` measured
    /// ~0.7 ms per message against the mock cluster here, 50× slower than popping the queue.)
    /// Blocks, so run it off the cooperative pool. Events such as `partitionEOF` arrive as views
    /// with a non-nil `errorCode`. If `body` throws, the error is rethrown after the message is
    /// destroyed; seek before polling again if the rest matters.
    ///
    /// - Returns: the number of messages and events handed to `body`.
    @discardableResult
    public func poll<E: Error>(
        maxMessages: Int, timeoutMs: Int32, _ body: (RDKafkaMessageView) throws(E) -> Void
    ) throws(E) -> Int {
        guard let queue else { return 0 }
        client.withKafkaPointer { callbacks.serveDeferredRebalances($0) }
        var count = 0
        var wait = timeoutMs
        while count < max(maxMessages, 1), let message = rd_kafka_consume_queue(queue, wait) {
            defer { rd_kafka_message_destroy(message) }
            count += 1
            wait = 0
            try body(RDKafkaMessageView(message))
        }
        return count
    }

    /// Takes messages ahead, as `poll` does, for a caller busy with something a rebalance must not
    /// interrupt (the worker's thread while its batches commit): a rebalance that arrives is held
    /// back and prefetching stops there; the next `poll` hands it to the handler before anything
    /// else. A message librdkafka returns after the held rebalance may belong to a partition about
    /// to be revoked (only the assign call would purge it), so it is destroyed unseen: the
    /// rebalance starts every partition again from the handler's offsets.
    ///
    /// Waits up to `timeoutMs` for the first message, then takes what is queued until `body`
    /// returns false. Does nothing while a rebalance is held back.
    public func prefetch(timeoutMs: Int32, _ body: (RDKafkaMessageView) -> Bool) {
        guard let queue, !holdsRebalance else { return }
        callbacks.defersRebalances = true
        defer { callbacks.defersRebalances = false }
        var wait = timeoutMs
        while let message = rd_kafka_consume_queue(queue, wait) {
            defer { rd_kafka_message_destroy(message) }
            guard !holdsRebalance, body(RDKafkaMessageView(message)) else { return }
            wait = 0
        }
    }

    /// A rebalance arrived during `prefetch` and waits for the next `poll`.
    public var holdsRebalance: Bool { !callbacks.deferredRebalances.isEmpty }

    /// Moves the fetch position of an assigned partition (e.g. back to PostgreSQL's offset after a
    /// failed transaction).
    public func seek(_ partition: RDKafkaTopicPartition, to offset: Int64, timeoutMs: Int32) throws {
        let list = RDKafkaTopicPartitionList([(partition, offset: offset)])
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                if let error = rd_kafka_seek_partitions(kafkaHandle, listPointer, timeoutMs) {
                    var kafkaError = KafkaError(consuming: error)
                    kafkaError.message = "Seek \(partition) to \(offset): \(kafkaError.message)"
                    throw kafkaError
                }
            }
        }
        if let error = list.firstElementError { throw error }
    }

    /// Stops fetching from the partitions while keeping them assigned (back-pressure).
    public func pause(_ partitions: [RDKafkaTopicPartition]) throws {
        try pauseOrResume(partitions, pause: true)
    }

    public func resume(_ partitions: [RDKafkaTopicPartition]) throws {
        try pauseOrResume(partitions, pause: false)
    }

    private func pauseOrResume(_ partitions: [RDKafkaTopicPartition], pause: Bool) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(partitions)
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                let err =
                    pause
                    ? rd_kafka_pause_partitions(kafkaHandle, listPointer)
                    : rd_kafka_resume_partitions(kafkaHandle, listPointer)
                try client.check(err, pause ? "Pause" : "Resume")
            }
        }
        if let error = list.firstElementError { throw error }
    }

    /// Courtesy async commit of offsets to Kafka (for lag tools), never the source of truth.
    /// Offsets are the next offset to read (last loaded + 1), as Kafka expects. Failures show up
    /// later in `lastCommitError`, after a `poll` has served the commit result.
    public func commitAsync(_ offsets: [(RDKafkaTopicPartition, offset: Int64)]) throws {
        guard !offsets.isEmpty else { return }
        let list = RDKafkaTopicPartitionList(offsets)
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                try client.check(rd_kafka_commit(kafkaHandle, listPointer, 1), "Commit")
            }
        }
    }

    /// The result of the latest async commit that failed, reset by one that succeeded.
    public var lastCommitError: KafkaError? { callbacks.lastCommitError }

    /// The group's committed offsets (`RDKafkaOffset.invalid` where none), read from the group
    /// coordinator: for lag checks and tests, not for deciding where to start.
    public func committedOffsets(_ partitions: [RDKafkaTopicPartition], timeoutMs: Int32) throws
        -> [Int64]
    {
        let list = RDKafkaTopicPartitionList(partitions)
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            try list.withListPointer { listPointer throws(KafkaError) in
                try client.check(
                    rd_kafka_committed(kafkaHandle, listPointer, timeoutMs), "Committed offsets")
            }
        }
        if let error = list.firstElementError { throw error }
        return list.offsets.map(\.offset)
    }

    /// Low watermark (log start) and high watermark (next offset to be written), asked of the
    /// partition leader.
    public func queryWatermarks(_ partition: RDKafkaTopicPartition, timeoutMs: Int32) throws -> (
        low: Int64, high: Int64
    ) {
        try client.queryWatermarks(partition, timeoutMs: timeoutMs)
    }

    /// The high watermark as of the last fetch response for the partition (librdkafka's cache,
    /// no broker request); nil before the first. For lag metrics, not for deciding anything.
    public func cachedHighWatermark(_ partition: RDKafkaTopicPartition) -> Int64? {
        client.cachedHighWatermark(partition)
    }

    /// The topic's partition count, from a metadata request.
    public func partitionCount(topic: String, timeoutMs: Int32) throws -> Int32 {
        try client.partitionCount(topic: topic, timeoutMs: timeoutMs)
    }

    /// Each partition's leader broker id (indexed by partition number, -1 where none is known),
    /// from a metadata request.
    public func partitionLeaders(topic: String, timeoutMs: Int32) throws -> [Int32] {
        try client.partitionLeaders(topic: topic, timeoutMs: timeoutMs)
    }

    /// The member id the group coordinator gave us; nil before joining or when not subscribed.
    public var memberID: String? {
        client.withKafkaPointer { kafkaHandle in
            guard let id = rd_kafka_memberid(kafkaHandle) else { return nil }
            defer { rd_kafka_mem_free(kafkaHandle, id) }
            let text = String(cString: id)
            return text.isEmpty ? nil : text
        }
    }

    /// Leaves the group (the revoke callback runs, here, on this thread) and stops fetching.
    /// Idempotent; `deinit` destroys the client afterwards (and closes it first if this was not
    /// called, with the revoke then reaching the handler only if it still exists).
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        // A rebalance held back by `prefetch` is served as `poll` would have: librdkafka's group
        // waits for its assign call.
        client.withKafkaPointer { callbacks.serveDeferredRebalances($0) }
        if let queue {
            rd_kafka_queue_destroy(queue)
            self.queue = nil
        }
        client.withKafkaPointer { kafkaHandle in
            let err = rd_kafka_consumer_close(kafkaHandle)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                callbacks.handler?.kafkaError(KafkaError.from(err, on: kafkaHandle, context: "Close"))
            }
        }
    }
}

@available(
    *, unavailable, message: "One thread polls a consumer; librdkafka serves its callbacks there."
)
extension RDKafkaConsumer: Sendable {}
