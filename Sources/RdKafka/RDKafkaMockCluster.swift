import CRdKafka

/// librdkafka's built-in mock cluster: the real Kafka protocol on localhost TCP, in memory.
///
/// Any Kafka client (ours, kcat, another process) can use `bootstrapServers`. It serves produce,
/// fetch, list offsets, metadata, consumer groups and offset commits; it does not serve the admin
/// API (create topics with `createTopic`). Broker ids run from 1 to `brokers`.
///
/// Not `Sendable`: librdkafka calls this an experimental API and says nothing about thread safety.
/// `deinit` destroys the cluster, after which its brokers refuse connections.
public final class RDKafkaMockCluster {
    /// The `rd_kafka_t` librdkafka needs to host a mock cluster; it is otherwise unused.
    private let host: RDKafkaClient
    private let cluster: OpaquePointer

    public let brokerCount: Int32

    public init(brokers: Int) throws {
        // The host is a producer that never connects anywhere: no bootstrap.servers.
        var config = RDKafkaConfig()
        config["client.id"] = "rdkafka-mock-cluster-host"
        // Hides the notice that a client without bootstrap.servers cannot connect; warnings from
        // the mock brokers, which log through this handle, still show.
        config["log_level"] = "4"
        self.host = try RDKafkaClient(kind: .producer, config: config, callbackBox: nil)
        guard
            let cluster = host.withKafkaPointer({
                rd_kafka_mock_cluster_new($0, Int32(clamping: brokers))
            })
        else {
            throw KafkaError(
                code: .fail, message: "Could not start a mock cluster with \(brokers) brokers")
        }
        self.cluster = cluster
        self.brokerCount = Int32(clamping: brokers)
    }

    deinit {
        // Before the host's deinit: the cluster must go before the rd_kafka_t it was created on.
        rd_kafka_mock_cluster_destroy(cluster)
    }

    func withClusterPointer<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        try body(cluster)
    }

    /// `host:port,host:port,...` of the mock brokers.
    public var bootstrapServers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws {
        try check(
            rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor),
            "Create topic \(name)")
    }

    /// Disconnects the broker and refuses new connections. Leadership does not move.
    public func setBrokerDown(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster, brokerID), "Set broker \(brokerID) down")
    }

    public func setBrokerUp(_ brokerID: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster, brokerID), "Set broker \(brokerID) up")
    }

    /// -1 makes the partition leaderless.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws {
        try check(
            rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker),
            "Set leader of \(topic)[\(partition)] to \(broker)")
    }

    /// Sets the preferred replica consumers are told to fetch from (KIP-392).
    public func setPartitionFollower(topic: String, partition: Int32, broker: Int32) throws {
        try check(
            rd_kafka_mock_partition_set_follower(cluster, topic, partition, broker),
            "Set follower of \(topic)[\(partition)] to \(broker)")
    }

    /// The next `errors.count` requests of type `api`, to any broker, fail with these codes in
    /// order. `.transport` makes the broker drop the connection instead of answering.
    public func pushRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaError.Code]) {
        let codes = errors.map(\.rdValue)
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(
                cluster, api.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Drops errors pushed for `api` and not yet used.
    public func clearRequestErrors(_ api: KafkaAPIKey) {
        rd_kafka_mock_clear_request_errors(cluster, api.rawValue)
    }

    /// Delays every response of the broker (-1: all brokers).
    public func setRoundTripTime(broker: Int32, milliseconds: Int32) throws {
        try check(
            rd_kafka_mock_broker_set_rtt(cluster, broker, milliseconds), "Set RTT of broker \(broker)")
    }

    /// Makes `broker` the coordinator of consumer group `group`.
    public func setGroupCoordinator(group: String, broker: Int32) throws {
        try check(
            rd_kafka_mock_coordinator_set(cluster, "group", group, broker),
            "Set coordinator of group \(group)")
    }

    private func check(_ err: rd_kafka_resp_err_t, _ context: @autoclosure () -> String)
        throws(KafkaError)
    {
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        throw KafkaError(err, message: "\(context()): \(KafkaError(err).message)")
    }
}
