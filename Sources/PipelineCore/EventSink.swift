/// PostgreSQL, as the worker sees it.
public protocol EventSink: AnyObject {
    /// Decides where newly assigned partitions start, in one transaction:
    /// the stored `etl.offsets` row, or `startFrom` for a partition with none
    /// (recorded at once), or the log start when the stored offset lies below
    /// it (the lost range recorded in `etl.gaps`).
    func claimPartitions(_ partitions: [PartitionWatermarks], startFrom: StartPosition) throws -> [PartitionStart]
    /// The loaded position of the given partitions, as `etl.offsets` has it now.
    func storedOffsets(_ partitions: [Int32]) throws -> [Int32: Int64]
    /// A fresh id for the next batch (rows carry it).
    func reserveBatchID() throws -> Int64
    /// Loads the batch and advances its offsets in ONE transaction, fenced.
    func commit(_ batch: EventBatch) throws -> CommitOutcome
}

public enum StartPosition: String, Sendable, CaseIterable {
    case earliest, latest
}

public struct PartitionWatermarks: Sendable, Equatable {
    public var partition: Int32
    public var low: Int64
    public var high: Int64
    public init(partition: Int32, low: Int64, high: Int64) {
        self.partition = partition
        self.low = low
        self.high = high
    }
}

public struct PartitionStart: Sendable, Equatable {
    public var partition: Int32
    public var nextOffset: Int64
    /// Offsets deleted by retention before they were loaded (recorded in etl.gaps).
    public var lostRange: ClosedRange<Int64>?
    public init(partition: Int32, nextOffset: Int64, lostRange: ClosedRange<Int64>? = nil) {
        self.partition = partition
        self.nextOffset = nextOffset
        self.lostRange = lostRange
    }
}

public enum CommitOutcome: Sendable, Equatable {
    case committed(CommitSummary)
    /// Another worker moved this partition's offset: the batch was rolled back.
    case fenced(partition: Int32)
}

/// What a committed batch's transaction reported beyond the batch itself.
public struct CommitSummary: Sendable, Equatable {
    /// Rows the validator accepted but PostgreSQL refused at COPY, dead-lettered as
    /// `db_rejected`: counted as rejected, not as loaded.
    public var refusedRows: Int
    /// Exact copies of an event already loaded (same `event_id`, same content): kept in
    /// etl.duplicate_events, not in staging.events.
    public var duplicates: Int
    /// Records reusing a loaded event's `event_id` for other content: kept in
    /// etl.duplicate_events as `event_id_conflict`, not in staging.events.
    public var conflicts: Int
    /// Set by the worker: when COMMIT returned, microseconds since the epoch (ingest latency ends here).
    public var committedAtMicros: Int64 = 0
    /// Set by the worker: from closing the batch to COMMIT returning, retries included.
    public var commitDurationMicros: Int64 = 0

    public init(refusedRows: Int = 0, duplicates: Int = 0, conflicts: Int = 0) {
        self.refusedRows = refusedRows
        self.duplicates = duplicates
        self.conflicts = conflicts
    }

    /// The batch's new events: stored in staging.events.
    public func newEvents(in batch: EventBatch) -> Int { batch.events - refusedRows - duplicates - conflicts }

    /// The batch's dead letters: the validator's rejects and the rows PostgreSQL refused.
    public func rejected(in batch: EventBatch) -> Int { batch.rejected + refusedRows }
}
