import CRdKafka

/// librdkafka's version as `rd_kafka_version()` encodes it: 0xMMmmrrxx (major, minor, revision,
/// pre-release; 0xff for a final release).
public enum RDKafkaVersion {
    /// The library this process runs with (which may be newer than the headers it was built with).
    public static var current: Int32 { rd_kafka_version() }
    /// 2.2.0, the first with the consumer property `fetch.queue.backoff.ms`.
    public static let fetchQueueBackoff: Int32 = 0x0202_0000
}
