import CRdKafka

/// Owner of one `rd_kafka_t`; `deinit` destroys it. Producer, consumer and mock cluster each hold one.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe (all public API calls on
/// one handle may be made from any thread), and this class adds no mutable state of its own.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var rdValue: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    private let kafkaHandle: OpaquePointer

    /// The object librdkafka hands back to our C callbacks as their `opaque` argument.
    ///
    /// librdkafka holds it unretained, so this strong reference is what keeps it alive; it must
    /// outlive the `rd_kafka_t`, and it does: stored properties are released only after `deinit`'s
    /// body, which destroys the handle (and `rd_kafka_destroy` can still fire callbacks, e.g. the
    /// consumer's final revoke). The box never references the client back, so there is no cycle.
    private let callbackBox: AnyObject?

    /// - Parameter installCallbacks: sets the C callbacks on the conf; they receive `callbackBox` as
    ///   their opaque pointer.
    init(
        kind: Kind, config: RDKafkaConfig, callbackBox: AnyObject?,
        installCallbacks: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let conf = try config.makeConf()
        if let callbackBox {
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(callbackBox).toOpaque())
        }
        installCallbacks(conf)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind.rdValue, conf, &errorBuffer, errorBuffer.count) else {
            // rd_kafka_new only takes ownership of the conf on success.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(
                code: .invalidArgument,
                message: "Could not create the Kafka client: \(String(cCharBuffer: errorBuffer))",
                isRetriable: false,
                remedy: "Check the Kafka properties given with --kafka-property.")
        }
        self.kafkaHandle = handle
        self.callbackBox = callbackBox
    }

    deinit { rd_kafka_destroy(kafkaHandle) }

    func withKafkaPointer<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        try body(kafkaHandle)
    }

    /// Throws `err` unless it is `NO_ERROR`, resolving `_FATAL` to the underlying error.
    func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String) throws(KafkaError) {
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw KafkaError.from(err, on: kafkaHandle, context: context())
    }

    /// A topic handle the caller must destroy with `rd_kafka_topic_destroy`.
    func makeTopicHandle(_ topic: String) throws(KafkaError) -> OpaquePointer {
        guard let topicHandle = rd_kafka_topic_new(kafkaHandle, topic, nil) else {
            throw KafkaError(
                code: KafkaError.Code(rd_kafka_last_error()),
                message: "Could not create a handle for topic \"\(topic)\"",
                isRetriable: false,
                remedy: "Check the topic name.")
        }
        return topicHandle
    }

    /// The leader broker of each partition of `topic` (indexed by partition number; -1 where the
    /// metadata names none), from a metadata request for that topic alone.
    func partitionLeaders(topic: String, timeoutMs: Int32) throws(KafkaError) -> [Int32] {
        let topicHandle = try makeTopicHandle(topic)
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        try check(
            rd_kafka_metadata(kafkaHandle, 0, topicHandle, &metadata, timeoutMs),
            "Metadata request for topic \"\(topic)\"")
        guard let metadata else {
            throw KafkaError(code: .fail, message: "Metadata request returned nothing")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            if entry.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(entry.err, message: "Topic \"\(topic)\": \(KafkaError(entry.err).message)")
            }
            var leaders = [Int32](repeating: -1, count: Int(entry.partition_cnt))
            for partition in UnsafeBufferPointer(start: entry.partitions, count: Int(entry.partition_cnt))
            where leaders.indices.contains(Int(partition.id)) {
                leaders[Int(partition.id)] = partition.leader
            }
            return leaders
        }
        throw KafkaError(
            code: .unknownTopicOrPartition, message: "Topic \"\(topic)\" is not in the metadata")
    }

    /// Partition count of `topic` from a metadata request for that topic alone.
    func partitionCount(topic: String, timeoutMs: Int32) throws(KafkaError) -> Int32 {
        Int32(try partitionLeaders(topic: topic, timeoutMs: timeoutMs).count)
    }

    func queryWatermarks(_ partition: RDKafkaTopicPartition, timeoutMs: Int32) throws(KafkaError) -> (
        low: Int64, high: Int64
    ) {
        var low: Int64 = -1
        var high: Int64 = -1
        try check(
            rd_kafka_query_watermark_offsets(
                kafkaHandle, partition.topic, partition.partition, &low, &high, timeoutMs),
            "Watermarks of \(partition)")
        return (low, high)
    }

    /// The high watermark the last fetch response carried, from librdkafka's cache: no broker
    /// request, so cheap enough to read after every batch. nil until a fetch has returned one.
    func cachedHighWatermark(_ partition: RDKafkaTopicPartition) -> Int64? {
        var low: Int64 = RDKafkaOffset.invalid
        var high: Int64 = RDKafkaOffset.invalid
        let err = rd_kafka_get_watermark_offsets(kafkaHandle, partition.topic, partition.partition, &low, &high)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }
}

extension KafkaError {
    /// An `error_cb` report. `_FATAL` only says that a fatal error happened; `rd_kafka_fatal_error`
    /// has the real one.
    init(errorCallback err: Int32, _ reason: UnsafePointer<CChar>?, on kafkaHandle: OpaquePointer) {
        let code = rd_kafka_resp_err_t(rawValue: err)
        if code == RD_KAFKA_RESP_ERR__FATAL, let fatal = KafkaError.fatalError(of: kafkaHandle) {
            self = fatal
        } else {
            self.init(code, message: reason.map { String(cString: $0) })
        }
    }
}
