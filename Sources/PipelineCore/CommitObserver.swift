/// Told what the worker does, on the worker's thread: the aggregate refresh
/// and the metrics hang here. Must return quickly; slow work goes elsewhere.
/// One exception: `operationRetrying` for a batch commit may come from a lane's
/// thread while the worker thread waits for its lanes; such calls are made one
/// at a time, never while another method runs.
/// Every method has an empty default, so an observer implements only what it
/// needs (the aggregate refresher: `batchCommitted(_:)` and `cycleEnded()`).
public protocol CommitObserver: AnyObject {
    /// A batch committed.
    func batchCommitted(_ batch: EventBatch)
    /// A batch committed, with what its transaction reported. The default calls `batchCommitted(_:)`.
    func batchCommitted(_ batch: EventBatch, _ commit: CommitSummary)
    /// A closed batch was not committed: fenced by another worker, or dropped (revocation, shutdown).
    func batchNotCommitted(_ batch: EventBatch, _ outcome: BatchOutcome)
    /// Every lane's batch of a cycle has been handled: once per cycle, after its
    /// `batchCommitted` and `batchNotCommitted` calls.
    func cycleEnded()
    /// The partitions this worker owns now, after an assignment or a revocation.
    func assignmentChanged(_ partitions: [Int32])
    /// Offsets Kafka deleted before they were loaded, just recorded in `etl.gaps`.
    func gapRecorded(partition: Int32, lost: ClosedRange<Int64>)
    /// An operation failed and will be tried again after a backoff.
    func operationRetrying(_ operation: RetriedOperation, error: any Error)
    /// Messages each owned partition holds beyond what `etl.offsets` says is loaded, as of the
    /// last fetch; reported after every pass of the loop (at least once per `--interval`).
    func lagMeasured(_ lags: [PartitionLag])
}

extension CommitObserver {
    public func batchCommitted(_ batch: EventBatch) {}
    public func batchCommitted(_ batch: EventBatch, _ commit: CommitSummary) { batchCommitted(batch) }
    public func batchNotCommitted(_ batch: EventBatch, _ outcome: BatchOutcome) {}
    public func cycleEnded() {}
    public func assignmentChanged(_ partitions: [Int32]) {}
    public func gapRecorded(partition: Int32, lost: ClosedRange<Int64>) {}
    public func operationRetrying(_ operation: RetriedOperation, error: any Error) {}
    public func lagMeasured(_ lags: [PartitionLag]) {}
}

/// How a closed batch ended; the `outcome` label of `pipeline_batches_total`.
public enum BatchOutcome: String, Sendable, CaseIterable {
    case committed
    /// Another worker had moved a partition's offset: rolled back, re-read etl.offsets.
    case fenced
    /// Never written: partitions revoked, or a stop while the database was unreachable.
    case dropped
}

/// What the worker retries with backoff; the `operation` label of `pipeline_db_retries_total`.
/// Each is a database operation (claiming also asks Kafka for the partitions' watermarks).
public enum RetriedOperation: String, Sendable, CaseIterable {
    case reserveBatchID = "reserve_batch_id"
    case commitBatch = "commit_batch"
    case claimPartitions = "claim_partitions"
    case readOffsets = "read_offsets"
}

/// One owned partition's lag: Kafka's high watermark minus the loaded position.
public struct PartitionLag: Sendable, Equatable {
    public var partition: Int32
    public var messages: Int64
}
