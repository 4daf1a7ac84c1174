import RdKafka

/// librdkafka's mock cluster as `pipeline dev-kafka` hosts it: real Kafka protocol on
/// localhost TCP, in memory, one topic. It lives as long as this object.
public final class DevelopmentKafka {
    private let cluster: RDKafkaMockCluster
    public let bootstrapServers: String

    public init(brokers: Int, topic: String, partitions: Int32) throws {
        cluster = try RDKafkaMockCluster(brokers: brokers)
        try cluster.createTopic(topic, partitions: partitions, replicationFactor: Int32(min(brokers, 3)))
        bootstrapServers = cluster.bootstrapServers
    }
}
