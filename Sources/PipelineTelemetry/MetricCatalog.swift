/// Every metric the worker exports, with its help text and histogram buckets: one
/// list for the factory, the README and the dashboards to agree with.
public enum MetricCatalog {
    public struct Entry: Sendable {
        public var name: String
        public var help: String
        /// Upper bounds in seconds, for histograms.
        public var bucketsSeconds: [Double] = []
    }

    public static let eventsIngested = Entry(
        name: "pipeline_events_ingested_total",
        help:
            "New events loaded into staging.events, counted when their batch commits (not producer duplicates)."
    )
    public static let eventsRejected = Entry(
        name: "pipeline_events_rejected_total",
        help:
            "Messages dead-lettered when their batch commits, by reason code (event_id_conflict: an event_id already loaded with other content)."
    )
    public static let eventsDuplicate = Entry(
        name: "pipeline_events_duplicate_total",
        help:
            "Exact copies of an event already loaded (producer duplicates), kept in etl.duplicate_events, counted when their batch commits."
    )
    public static let batches = Entry(
        name: "pipeline_batches_total",
        help:
            "Closed batches by outcome: committed; fenced (another worker moved the offset); dropped (revocation, or stop while the database was down)."
    )
    public static let batchDuration = Entry(
        name: "pipeline_batch_duration_seconds",
        help: "Time from closing a batch to its COMMIT returning, database retries included.",
        bucketsSeconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
    public static let ingestLatency = Entry(
        name: "pipeline_ingest_latency_seconds",
        help: "Per message of a committed batch: COMMIT time minus the Kafka record timestamp.",
        bucketsSeconds: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600])
    public static let consumerLag = Entry(
        name: "pipeline_consumer_lag",
        help:
            "Messages in an owned partition beyond the loaded position: high watermark (last fetch) minus etl.offsets next_offset."
    )
    public static let bytesIngested = Entry(
        name: "pipeline_bytes_ingested_total",
        help: "Bytes of message values in committed batches, accepted and rejected (as etl.batches.bytes).")
    public static let lastCommit = Entry(
        name: "pipeline_last_commit_timestamp_seconds",
        help: "Unix time this worker last committed a batch; absent until its first commit.")
    public static let gaps = Entry(
        name: "pipeline_gaps_total",
        help: "Offset ranges Kafka deleted before they were loaded, recorded in etl.gaps by this worker.")
    public static let databaseRetries = Entry(
        name: "pipeline_db_retries_total",
        help: "Failed worker operations retried with backoff, by operation (each a database operation).")
    public static let partitionsAssigned = Entry(
        name: "pipeline_partitions_assigned",
        help: "Partitions of the topic this worker owns now.")

    public static let all: [Entry] = [
        eventsIngested, eventsRejected, eventsDuplicate, batches, batchDuration, ingestLatency, consumerLag,
        bytesIngested, lastCommit, gaps, databaseRetries, partitionsAssigned,
    ]

    private static let byName: [String: Entry] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    static func entry(_ name: String) -> Entry? { byName[name] }
}
