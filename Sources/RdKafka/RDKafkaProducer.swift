import CRdKafka
import Synchronization

/// A Kafka producer: copies each message into librdkafka's queue and counts delivery reports.
///
/// Messages still queued when the producer is released are dropped (rd_kafka_destroy does not
/// wait): call `flush` first. The default partitioner is librdkafka's `consistent_random` (CRC32
/// of the key), not the Java client's murmur2; set `partitioner=murmur2_random` where keys must
/// land where Java producers put them.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe, the topic-handle cache
/// is behind a `Mutex`, and the delivery counters (updated from whichever thread serves the
/// reports in `poll`, `flush` or `produce`) are atomics or behind a `Mutex`.
public final class RDKafkaProducer: @unchecked Sendable {
    private let client: RDKafkaClient
    private let callbacks: RDKafkaProducerCallbacks
    /// One topic handle per topic, created on first use and destroyed in `deinit` (before the
    /// client, as librdkafka requires), so `produce` does not create and destroy one per message.
    private let topicHandles = Mutex<[String: OpaquePointer]>([:])

    /// `enable.idempotence` is on unless the configuration sets it: a retried send then never
    /// duplicates or reorders a message.
    public init(config: RDKafkaConfig) throws {
        var config = config
        config.setDefault("enable.idempotence", "true")
        let callbacks = RDKafkaProducerCallbacks()
        self.client = try RDKafkaClient(
            kind: .producer, config: config, callbackBox: callbacks,
            installCallbacks: RDKafkaProducerCallbacks.install(on:))
        self.callbacks = callbacks
    }

    /// `RD_KAFKA_PARTITION_UA`, a cast macro Swift does not import: let the partitioner choose.
    private static let unassignedPartition: Int32 = -1

    deinit {
        topicHandles.withLock { handles in
            for handle in handles.values { rd_kafka_topic_destroy(handle) }
        }
    }

    /// Queues one message; delivery is reported later (see `deliveredCount`, `failedCount`).
    ///
    /// Copies key and value (`RD_KAFKA_MSG_F_COPY`), so the buffers may be reused on return.
    /// `partition` nil lets the partitioner choose (by key hash). When the queue is full it serves
    /// delivery reports for 100 ms and tries again: back-pressure, never a dropped message.
    public func produce(
        topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?,
        value: UnsafeRawBufferPointer?
    ) throws {
        let topicHandle = try self.topicHandle(topic)
        while true {
            let result = rd_kafka_produce(
                topicHandle, partition ?? Self.unassignedPartition, RD_KAFKA_MSG_F_COPY,
                UnsafeMutableRawPointer(mutating: value?.baseAddress), value?.count ?? 0,
                key?.baseAddress, key?.count ?? 0, nil)
            if result == 0 { return }
            let err = rd_kafka_last_error()
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                poll(timeoutMs: 100)
                continue
            }
            try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
                throw KafkaError.from(err, on: kafkaHandle, context: "Produce to \(topic)")
            }
        }
    }

    /// Serves delivery reports and client errors.
    public func poll(timeoutMs: Int32) {
        client.withKafkaPointer { kafkaHandle in _ = rd_kafka_poll(kafkaHandle, timeoutMs) }
    }

    /// Waits for outstanding deliveries, serving their reports; throws `timedOut` if some remain.
    public func flush(timeoutMs: Int32) throws {
        try client.withKafkaPointer { kafkaHandle throws(KafkaError) in
            let err = rd_kafka_flush(kafkaHandle, timeoutMs)
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
            throw KafkaError(
                err,
                message:
                    "\(rd_kafka_outq_len(kafkaHandle)) messages still undelivered after \(timeoutMs) ms")
        }
    }

    /// Delivery reports without error.
    public var deliveredCount: Int { callbacks.delivered.load(ordering: .relaxed) }
    /// Delivery reports with an error (the message was not written).
    public var failedCount: Int { callbacks.failed.load(ordering: .relaxed) }
    /// The error of the most recent failed delivery.
    public var lastDeliveryError: KafkaError? { callbacks.lastDeliveryError.withLock { $0 } }
    /// The latest error librdkafka reported through `error_cb` (broker down, fatal, ...).
    public var lastClientError: KafkaError? { callbacks.lastClientError.withLock { $0 } }
    /// Messages queued or in flight, not yet reported, plus pending events.
    public var outQueueLength: Int32 { client.withKafkaPointer { rd_kafka_outq_len($0) } }

    private func topicHandle(_ topic: String) throws(KafkaError) -> OpaquePointer {
        try topicHandles.withLock { handles throws(KafkaError) in
            if let handle = handles[topic] { return handle }
            let handle = try client.makeTopicHandle(topic)
            handles[topic] = handle
            return handle
        }
    }
}

/// The producer's callback box: the `opaque` librdkafka hands to the C callbacks below.
///
/// Delivery reports are served by whichever thread calls `poll`, `flush` or `produce`, possibly
/// several at once, hence atomics and mutexes.
final class RDKafkaProducerCallbacks: Sendable {
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let lastDeliveryError = Mutex<KafkaError?>(nil)
    let lastClientError = Mutex<KafkaError?>(nil)

    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            guard let message, let opaque else { return }
            let callbacks = Unmanaged<RDKafkaProducerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                callbacks.delivered.add(1, ordering: .relaxed)
            } else {
                callbacks.failed.add(1, ordering: .relaxed)
                // rd_kafka_message_errstr must not be used on producer messages.
                callbacks.lastDeliveryError.withLock { $0 = KafkaError(err) }
            }
        }
        rd_kafka_conf_set_error_cb(conf) { kafkaHandle, err, reason, opaque in
            guard let kafkaHandle, let opaque else { return }
            let callbacks = Unmanaged<RDKafkaProducerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let error = KafkaError(errorCallback: err, reason, on: kafkaHandle)
            callbacks.lastClientError.withLock { $0 = error }
        }
    }
}
