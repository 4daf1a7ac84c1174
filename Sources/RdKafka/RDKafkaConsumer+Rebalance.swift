import CRdKafka

/// Told about rebalances and client errors, on the polling thread, from inside
/// `RDKafkaConsumer.poll` (or `close`), while the consumer is in the middle of a rebalance.
///
/// The consumer keeps its handler weakly, like a delegate, because the natural handler is the
/// object that owns the consumer; keep the handler alive yourself. If a handler was given and has
/// gone away, the consumer takes no partitions (rather than silently starting at committed
/// offsets, which are not the source of truth).
///
/// Only the EAGER protocol (`range`, `roundrobin`) is supported: every rebalance revokes the whole
/// assignment, then assigns anew, which is what lets the handler re-read start offsets each time.
public protocol RDKafkaRebalanceHandler: AnyObject {
    /// Return the start offset for each partition (same order), or nil to take none of them.
    /// The consumer then calls `rd_kafka_assign` with exactly these offsets. `RDKafkaOffset`
    /// holds the special values (`beginning`, `end`, `stored`).
    func startOffsets(forAssigned partitions: [RDKafkaTopicPartition]) -> [Int64]?
    /// The partitions are being taken away; `rd_kafka_assign(NULL)` follows when this returns, so
    /// drop any uncommitted batch from them now.
    func partitionsRevoked(_ partitions: [RDKafkaTopicPartition])
    /// Client errors from librdkafka's `error_cb` (broker down, authentication, ...), mostly
    /// informational since librdkafka recovers by itself, plus fatal ones (`isFatal`), after which
    /// the consumer must be recreated. Also rebalance failures of our own (an assign that failed).
    func kafkaError(_ error: KafkaError)
}

/// The consumer's callback box: the `opaque` librdkafka hands to the C callbacks below.
///
/// Owned by the consumer's `RDKafkaClient` (see there for the lifetime argument). Used only on the
/// thread that polls, since the consumer queue (which also carries the main queue's events after
/// `rd_kafka_poll_set_consumer`) is served only by `poll` and `close`.
final class RDKafkaConsumerCallbacks {
    weak var handler: (any RDKafkaRebalanceHandler)?
    /// Distinguishes "no handler" (librdkafka's default: start at committed offsets) from "handler
    /// gone" (take nothing).
    let hasHandler: Bool
    var lastCommitError: KafkaError?
    /// While set (`RDKafkaConsumer.prefetch`), a rebalance is kept in `deferredRebalances`
    /// instead of reaching the handler; librdkafka's group waits for the assign call meanwhile.
    var defersRebalances = false
    /// Rebalances held back while `defersRebalances` was set, oldest first: each one's error code
    /// and an owned copy of its partition list, served by `serveDeferredRebalances`. (librdkafka
    /// waits for the assign call before the next rebalance, so there is at most one.)
    private(set) var deferredRebalances:
        [(err: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>)] = []

    init(handler: (any RDKafkaRebalanceHandler)?) {
        self.handler = handler
        self.hasHandler = handler != nil
    }

    deinit {
        for deferred in deferredRebalances { rd_kafka_topic_partition_list_destroy(deferred.partitions) }
    }

    /// Hands the rebalances held back by `defersRebalances` to the handler, as if they arrived now.
    func serveDeferredRebalances(_ kafkaHandle: OpaquePointer) {
        while !deferredRebalances.isEmpty {
            let deferred = deferredRebalances.removeFirst()
            defer { rd_kafka_topic_partition_list_destroy(deferred.partitions) }
            rebalance(kafkaHandle, deferred.err, deferred.partitions)
        }
    }

    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_rebalance_cb(conf) { kafkaHandle, err, partitions, opaque in
            guard let kafkaHandle, let partitions, let opaque else { return }
            Unmanaged<RDKafkaConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                .rebalance(kafkaHandle, err, partitions)
        }
        rd_kafka_conf_set_error_cb(conf) { kafkaHandle, err, reason, opaque in
            guard let kafkaHandle, let opaque else { return }
            let callbacks = Unmanaged<RDKafkaConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.handler?.kafkaError(KafkaError(errorCallback: err, reason, on: kafkaHandle))
        }
        rd_kafka_conf_set_offset_commit_cb(conf) { _, err, _, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RDKafkaConsumerCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            // _NO_OFFSET: nothing to commit, which the docs say is not an error.
            guard err != RD_KAFKA_RESP_ERR__NO_OFFSET else { return }
            callbacks.lastCommitError =
                err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(err, message: "Offset commit failed")
        }
    }

    func rebalance(
        _ kafkaHandle: OpaquePointer, _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        if defersRebalances {
            // librdkafka owns `partitions` only for this call.
            deferredRebalances.append((err, rd_kafka_topic_partition_list_copy(partitions)))
            return
        }
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            assign(kafkaHandle, partitions)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            handler?.partitionsRevoked(RDKafkaTopicPartitionList.partitions(of: partitions))
            unassign(kafkaHandle)
        default:
            // librdkafka's contract: on a rebalance error, clear the assignment to resynchronise.
            handler?.kafkaError(KafkaError(err, message: "Rebalance failed: \(KafkaError(err).message)"))
            unassign(kafkaHandle)
        }
    }

    private func assign(
        _ kafkaHandle: OpaquePointer,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        if hasHandler {
            guard let handler else { return unassign(kafkaHandle) }
            let assigned = RDKafkaTopicPartitionList.partitions(of: partitions)
            guard let offsets = handler.startOffsets(forAssigned: assigned) else {
                return unassign(kafkaHandle)
            }
            guard offsets.count == assigned.count else {
                handler.kafkaError(
                    KafkaError(
                        code: .invalidArgument,
                        message: "The rebalance handler returned \(offsets.count) start offsets "
                            + "for \(assigned.count) assigned partitions; taking none of them.",
                        isRetriable: false))
                return unassign(kafkaHandle)
            }
            RDKafkaTopicPartitionList.setOffsets(offsets, in: partitions)
        }
        let err = rd_kafka_assign(kafkaHandle, partitions)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            handler?.kafkaError(KafkaError.from(err, on: kafkaHandle, context: "Assign failed"))
        }
    }

    private func unassign(_ kafkaHandle: OpaquePointer) {
        let err = rd_kafka_assign(kafkaHandle, nil)
        // _DESTROY: the consumer is closing, so the assignment is going away anyway.
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__DESTROY {
            handler?.kafkaError(KafkaError.from(err, on: kafkaHandle, context: "Unassign failed"))
        }
    }
}
