/// A partition of a topic: the unit Kafka assigns to consumers and PostgreSQL tracks offsets for.
public struct RDKafkaTopicPartition: Hashable, Sendable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Special offsets librdkafka understands wherever an offset is given (assign, seek).
public enum RDKafkaOffset {
    /// The partition's log start.
    public static let beginning: Int64 = -2
    /// The partition's end: only messages produced from now on.
    public static let end: Int64 = -1
    /// The group's committed offset, else `auto.offset.reset`.
    public static let stored: Int64 = -1000
    /// No offset given (`RD_KAFKA_OFFSET_INVALID`); in an assignment it acts like `stored`.
    public static let invalid: Int64 = -1001
}
