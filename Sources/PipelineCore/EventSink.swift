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
    case committed(CommitTally)
    /// Another worker moved this partition's offset: the batch was rolled back.
    case fenced(partition: Int32)
}

/// Where a committed batch's accepted records went, as the database decided:
/// PostgreSQL may refuse rows the validator accepted, and a record whose
/// event_id was already loaded is a duplicate (or a conflict, when its
/// content differs), kept in etl.duplicate_events instead of staging.events.
public struct CommitTally: Sendable, Equatable {
    /// New events stored in staging.events.
    public var loaded: Int
    /// Rows PostgreSQL refused, dead-lettered with reason `db_rejected`.
    public var refused: Int
    /// Exact copies of an event already loaded.
    public var duplicates: Int
    /// An event_id already loaded, with different content.
    public var conflicts: Int

    public init(loaded: Int, refused: Int = 0, duplicates: Int = 0, conflicts: Int = 0) {
        self.loaded = loaded
        self.refused = refused
        self.duplicates = duplicates
        self.conflicts = conflicts
    }
}
