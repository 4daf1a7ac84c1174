import CRdKafka

/// The one error type of the RdKafka module.
///
/// A struct rather than an enum so codes can be added without breaking callers; `code` is the raw
/// `rd_kafka_resp_err_t`, so any code librdkafka returns can be represented, named or not.
/// Messages never carry payload bytes or configuration values (a value may be a password).
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// A raw `rd_kafka_resp_err_t`. Negative values are librdkafka-local, positive ones come from the broker.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }

        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }

        var rdValue: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

        /// librdkafka's symbolic name, e.g. `_PARTITION_EOF` or `NOT_COORDINATOR`.
        public var name: String { String(cString: rd_kafka_err2name(rdValue)) }

        public var description: String { "\(name)(\(rawValue))" }

        // librdkafka-local codes (negative).
        public static let noError = Code(rawValue: 0)
        public static let badMessage = Code(rawValue: -199)
        public static let destroy = Code(rawValue: -197)
        public static let fail = Code(rawValue: -196)
        public static let transport = Code(rawValue: -195)
        public static let resolve = Code(rawValue: -193)
        public static let msgTimedOut = Code(rawValue: -192)
        public static let partitionEOF = Code(rawValue: -191)
        public static let unknownPartition = Code(rawValue: -190)
        public static let unknownTopic = Code(rawValue: -188)
        public static let allBrokersDown = Code(rawValue: -187)
        public static let invalidArgument = Code(rawValue: -186)
        public static let timedOut = Code(rawValue: -185)
        public static let queueFull = Code(rawValue: -184)
        public static let ssl = Code(rawValue: -181)
        public static let waitCoordinator = Code(rawValue: -180)
        public static let unknownGroup = Code(rawValue: -179)
        public static let assignPartitions = Code(rawValue: -175)
        public static let revokePartitions = Code(rawValue: -174)
        public static let state = Code(rawValue: -172)
        public static let notImplemented = Code(rawValue: -170)
        public static let authentication = Code(rawValue: -169)
        public static let noOffset = Code(rawValue: -168)
        public static let outdated = Code(rawValue: -167)
        public static let timedOutQueue = Code(rawValue: -166)
        public static let unsupportedFeature = Code(rawValue: -165)
        public static let invalidType = Code(rawValue: -154)
        public static let fatal = Code(rawValue: -150)
        public static let maxPollExceeded = Code(rawValue: -147)
        public static let unknownBroker = Code(rawValue: -146)
        /// The local fenced state (transactional/idempotent producer).
        public static let fenced = Code(rawValue: -144)
        public static let assignmentLost = Code(rawValue: -142)
        public static let autoOffsetReset = Code(rawValue: -140)
        public static let unknown = Code(rawValue: -1)

        // Broker codes (positive), as in the Kafka protocol.
        public static let offsetOutOfRange = Code(rawValue: 1)
        public static let corruptMessage = Code(rawValue: 2)
        public static let unknownTopicOrPartition = Code(rawValue: 3)
        public static let leaderNotAvailable = Code(rawValue: 5)
        public static let notLeaderForPartition = Code(rawValue: 6)
        public static let requestTimedOut = Code(rawValue: 7)
        public static let brokerNotAvailable = Code(rawValue: 8)
        public static let messageSizeTooLarge = Code(rawValue: 10)
        public static let networkException = Code(rawValue: 13)
        public static let coordinatorLoadInProgress = Code(rawValue: 14)
        public static let coordinatorNotAvailable = Code(rawValue: 15)
        public static let notCoordinator = Code(rawValue: 16)
        public static let notEnoughReplicas = Code(rawValue: 19)
        public static let notEnoughReplicasAfterAppend = Code(rawValue: 20)
        public static let illegalGeneration = Code(rawValue: 22)
        public static let inconsistentGroupProtocol = Code(rawValue: 23)
        public static let invalidGroupID = Code(rawValue: 24)
        public static let unknownMemberID = Code(rawValue: 25)
        public static let invalidSessionTimeout = Code(rawValue: 26)
        public static let rebalanceInProgress = Code(rawValue: 27)
        public static let topicAuthorizationFailed = Code(rawValue: 29)
        public static let groupAuthorizationFailed = Code(rawValue: 30)
        public static let clusterAuthorizationFailed = Code(rawValue: 31)
        public static let unsupportedVersion = Code(rawValue: 35)
        public static let outOfOrderSequenceNumber = Code(rawValue: 45)
        public static let invalidProducerEpoch = Code(rawValue: 47)
        public static let kafkaStorageError = Code(rawValue: 56)
        public static let saslAuthenticationFailed = Code(rawValue: 58)
        public static let unknownProducerID = Code(rawValue: 59)
        public static let fetchSessionIDNotFound = Code(rawValue: 70)
        public static let invalidFetchSessionEpoch = Code(rawValue: 71)
        public static let fencedLeaderEpoch = Code(rawValue: 74)
        public static let unknownLeaderEpoch = Code(rawValue: 75)
        public static let offsetNotAvailable = Code(rawValue: 78)
        public static let memberIDRequired = Code(rawValue: 79)
        public static let preferredLeaderNotAvailable = Code(rawValue: 80)
        public static let groupMaxSizeReached = Code(rawValue: 81)
        public static let fencedInstanceID = Code(rawValue: 82)
        public static let unstableOffsetCommit = Code(rawValue: 88)
        public static let throttlingQuotaExceeded = Code(rawValue: 89)
        public static let producerFenced = Code(rawValue: 90)

        /// Codes after which retrying the same operation can succeed (Kafka's RetriableException
        /// family plus librdkafka's local transient states). Used when librdkafka gives a bare code
        /// rather than an `rd_kafka_error_t`, which carries its own retriable flag.
        static let retriable: Set<Code> = [
            .transport, .allBrokersDown, .timedOut, .timedOutQueue, .queueFull, .waitCoordinator,
            .resolve, .msgTimedOut, .corruptMessage, .unknownTopicOrPartition, .leaderNotAvailable,
            .notLeaderForPartition, .requestTimedOut, .networkException, .coordinatorLoadInProgress,
            .coordinatorNotAvailable, .notCoordinator, .notEnoughReplicas,
            .notEnoughReplicasAfterAppend, .rebalanceInProgress, .kafkaStorageError,
            .fetchSessionIDNotFound, .invalidFetchSessionEpoch, .fencedLeaderEpoch,
            .unknownLeaderEpoch, .offsetNotAvailable, .preferredLeaderNotAvailable,
            .unstableOffsetCommit, .throttlingQuotaExceeded,
        ]
    }

    public var code: Code
    /// librdkafka's symbolic name for `code` (`rd_kafka_err2name`).
    public var name: String
    /// librdkafka's own explanation when it gave one, else `rd_kafka_err2str`.
    public var message: String
    /// The client instance is unusable after a fatal error; it must be destroyed and recreated.
    public var isFatal: Bool
    public var isRetriable: Bool
    /// What an operator can do about it, where we know.
    public var remedy: String?
    /// The configuration property at fault, for configuration errors (its name only, never its value),
    /// so the CLI can point at the flag that set it.
    public var property: String?

    public init(
        code: Code, message: String? = nil, isFatal: Bool = false, isRetriable: Bool? = nil,
        remedy: String? = nil, property: String? = nil
    ) {
        self.code = code
        self.name = code.name
        self.message = message ?? String(cString: rd_kafka_err2str(code.rdValue))
        self.isFatal = isFatal || code == .fatal
        self.isRetriable = isRetriable ?? Code.retriable.contains(code)
        self.remedy = remedy ?? Self.defaultRemedy(for: code)
        self.property = property
    }

    init(_ err: rd_kafka_resp_err_t, message: String? = nil) {
        self.init(code: Code(err), message: message)
    }

    /// Takes ownership of an `rd_kafka_error_t` (destroys it) and keeps its own fatal/retriable flags,
    /// which are more precise than our per-code table.
    init(consuming error: OpaquePointer) {
        defer { rd_kafka_error_destroy(error) }
        self.init(
            code: Code(rd_kafka_error_code(error)),
            message: String(cString: rd_kafka_error_string(error)),
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0)
    }

    /// The fatal error a client instance is in, if any. A bare `_FATAL` code says only that one
    /// happened; `rd_kafka_fatal_error` gives the underlying code and reason.
    static func fatalError(of kafkaHandle: OpaquePointer) -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(kafkaHandle, &buffer, buffer.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(
            code: Code(err), message: String(cCharBuffer: buffer), isFatal: true, isRetriable: false,
            remedy: "The Kafka client is unusable after a fatal error; restart the worker.")
    }

    /// `err` as returned by a call on `kafkaHandle`, its message prefixed with `context`: a bare
    /// `_FATAL` is replaced by the underlying fatal error, which is what an operator needs to see.
    static func from(
        _ err: rd_kafka_resp_err_t, on kafkaHandle: OpaquePointer, context: String
    ) -> KafkaError {
        var error = KafkaError(err)
        if err == RD_KAFKA_RESP_ERR__FATAL, let fatal = fatalError(of: kafkaHandle) { error = fatal }
        error.message = "\(context): \(error.message)"
        return error
    }

    public var description: String {
        var text = "Kafka error \(name) (\(code.rawValue)): \(message)"
        if isFatal { text += " [fatal]" }
        if let remedy { text += " Remedy: \(remedy)" }
        return text
    }

    static func defaultRemedy(for code: Code) -> String? {
        switch code {
        case .allBrokersDown, .transport, .resolve:
            return "Check --brokers (bootstrap.servers) and that the brokers are reachable; "
                + "librdkafka keeps reconnecting by itself."
        case .ssl, .authentication, .saslAuthenticationFailed:
            return "Check security.protocol, sasl.* and ssl.* given with --kafka-property."
        case .unknownTopicOrPartition, .unknownTopic, .unknownPartition:
            return "Check the topic name, or create the topic."
        case .topicAuthorizationFailed, .groupAuthorizationFailed, .clusterAuthorizationFailed:
            return "Grant the client's principal ACLs on the topic and the consumer group."
        case .queueFull:
            return "The producer queue is full: serve delivery reports (poll) "
                + "or raise queue.buffering.max.messages."
        case .msgTimedOut:
            return "Messages were not delivered within message.timeout.ms; check broker availability."
        case .offsetOutOfRange, .autoOffsetReset:
            return "The requested offset is outside the partition's log "
                + "(retention deleted it, or it lies past the end)."
        case .fatal, .fenced, .producerFenced, .fencedInstanceID:
            return "The Kafka client is unusable; restart the worker."
        case .maxPollExceeded:
            return
                "The worker polled less often than max.poll.interval.ms; raise it or make batches faster."
        case .invalidSessionTimeout:
            return "session.timeout.ms lies outside the broker's group.min/max.session.timeout.ms."
        default:
            return nil
        }
    }
}

extension String {
    /// A NUL-terminated C string held in a Swift array (librdkafka's `errstr` out-parameters).
    init(cCharBuffer buffer: [CChar]) {
        self = buffer.withUnsafeBufferPointer { pointer in
            guard let base = pointer.baseAddress, pointer.contains(0) else {
                return String(decoding: pointer.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            return String(cString: base)
        }
    }
}
