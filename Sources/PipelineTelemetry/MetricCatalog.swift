/// Every metric the worker exports, named by its raw value, with its help text and histogram
/// buckets: one list for the factory, the README and the dashboards to agree with. An enum, so
/// `all` cannot miss a metric and the compiler asks for the help text of a new one.
public enum MetricCatalog: String, CaseIterable, Sendable {
    case eventsIngested = "pipeline_events_ingested_total"
    case eventsRejected = "pipeline_events_rejected_total"
    case eventsDuplicate = "pipeline_events_duplicate_total"
    case batches = "pipeline_batches_total"
    case batchDuration = "pipeline_batch_duration_seconds"
    case ingestLatency = "pipeline_ingest_latency_seconds"
    case consumerLag = "pipeline_consumer_lag"
    case bytesIngested = "pipeline_bytes_ingested_total"
    case lastCommit = "pipeline_last_commit_timestamp_seconds"
    case gaps = "pipeline_gaps_total"
    case databaseRetries = "pipeline_db_retries_total"
    case partitionsAssigned = "pipeline_partitions_assigned"
    case sessionWindowsLag = "pipeline_session_windows_lag_seconds"

    public static var all: [MetricCatalog] { allCases }

    public var name: String { rawValue }

    public var help: String {
        switch self {
        case .eventsIngested:
            "New events loaded into staging.events, counted when their batch commits (not producer duplicates)."
        case .eventsRejected:
            "Messages dead-lettered when their batch commits, by reason code (event_id_conflict: an event_id already loaded with other content)."
        case .eventsDuplicate:
            "Exact copies of an event already loaded (producer duplicates), kept in etl.duplicate_events, counted when their batch commits."
        case .batches:
            "Closed batches by outcome: committed; fenced (another worker moved the offset); dropped (revocation, or stop while the database was down)."
        case .batchDuration:
            "Time from closing a batch to its COMMIT returning, database retries included."
        case .ingestLatency:
            "Per message of a committed batch: COMMIT time minus the Kafka record timestamp."
        case .consumerLag:
            "Messages in an owned partition beyond the loaded position: high watermark (last fetch) minus etl.offsets next_offset."
        case .bytesIngested:
            "Bytes of message values in committed batches, accepted and rejected (as etl.batches.bytes)."
        case .lastCommit:
            "Unix time this worker last committed a batch; absent until its first commit."
        case .gaps:
            "Offset ranges Kafka deleted before they were loaded, recorded in etl.gaps by this worker."
        case .databaseRetries:
            "Failed worker operations retried with backoff, by operation (each a database operation)."
        case .partitionsAssigned:
            "Partitions of the topic this worker owns now."
        case .sessionWindowsLag:
            "How far analytics.user_sessions may trail this worker's committed batches: seconds since the last session merge began that took every piece released before it, 0 when none of its batches waits."
        }
    }

    /// Upper bounds in seconds, for histograms; empty for the rest.
    public var bucketsSeconds: [Double] {
        switch self {
        case .batchDuration: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        case .ingestLatency: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
        default: []
        }
    }

    static func entry(_ name: String) -> MetricCatalog? { MetricCatalog(rawValue: name) }
}
