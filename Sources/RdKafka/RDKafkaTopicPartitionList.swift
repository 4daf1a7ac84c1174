import CRdKafka

/// Owner of one `rd_kafka_topic_partition_list_t` that we created; `deinit` destroys it.
///
/// Lists that librdkafka lends us (the rebalance callback's argument) are not wrapped in this
/// class, since we must not destroy them; `elements(of:)` reads those.
final class RDKafkaTopicPartitionList {
    private let list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 1) {
        // rd_kafka_topic_partition_list_new aborts only on allocation failure; it never returns NULL.
        self.list = rd_kafka_topic_partition_list_new(Int32(clamping: max(capacity, 1)))
    }

    /// Takes ownership of a list librdkafka returned to us (e.g. from `rd_kafka_assignment`).
    init(adopting list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        self.list = list
    }

    convenience init(_ partitions: [RDKafkaTopicPartition], offset: Int64 = RDKafkaOffset.invalid) {
        self.init(capacity: partitions.count)
        for partition in partitions { add(partition, offset: offset) }
    }

    convenience init(_ offsets: [(RDKafkaTopicPartition, offset: Int64)]) {
        self.init(capacity: offsets.count)
        for (partition, offset) in offsets { add(partition, offset: offset) }
    }

    deinit { rd_kafka_topic_partition_list_destroy(list) }

    func add(_ partition: RDKafkaTopicPartition, offset: Int64) {
        let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
        element?.pointee.offset = offset
    }

    func withListPointer<T, E: Error>(
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> T
    ) throws(E) -> T {
        try body(list)
    }

    var partitions: [RDKafkaTopicPartition] { Self.partitions(of: list) }

    var offsets: [(RDKafkaTopicPartition, offset: Int64)] {
        Self.elements(of: list).map { ($0.partition, offset: $0.offset) }
    }

    /// The first per-partition error librdkafka left in the list (seek, pause and commit report
    /// failures there rather than in their return value).
    var firstElementError: KafkaError? {
        for element in Self.elements(of: list) where element.error != .noError {
            return KafkaError(
                code: element.error,
                message: "\(element.partition): \(KafkaError(code: element.error).message)")
        }
        return nil
    }

    struct Element {
        var partition: RDKafkaTopicPartition
        var offset: Int64
        var error: KafkaError.Code
    }

    /// Reads a list without taking ownership of it.
    static func elements(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [Element] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return Element(
                partition: RDKafkaTopicPartition(
                    topic: element.topic.map { String(cString: $0) } ?? "",
                    partition: element.partition),
                offset: element.offset,
                error: KafkaError.Code(element.err))
        }
    }

    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>)
        -> [RDKafkaTopicPartition]
    {
        elements(of: list).map(\.partition)
    }

    /// Sets the offsets of a list librdkafka lent us, in list order.
    static func setOffsets(
        _ offsets: [Int64], in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        guard let elements = list.pointee.elems else { return }
        for index in 0..<min(Int(list.pointee.cnt), offsets.count) {
            elements[index].offset = offsets[index]
        }
    }
}
