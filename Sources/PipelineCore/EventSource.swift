/// A message borrowed from the source for the duration of one callback:
/// validate and encode it there, never keep the buffers.
public struct IncomingMessage {
    public var partition: Int32
    public var offset: Int64
    /// Kafka's record timestamp in milliseconds since the epoch, when it has one.
    public var timestampMs: Int64?
    public var key: UnsafeRawBufferPointer?
    /// nil for a tombstone.
    public var payload: UnsafeRawBufferPointer?

    public init(
        partition: Int32, offset: Int64, timestampMs: Int64?, key: UnsafeRawBufferPointer?,
        payload: UnsafeRawBufferPointer?
    ) {
        self.partition = partition
        self.offset = offset
        self.timestampMs = timestampMs
        self.key = key
        self.payload = payload
    }
}

/// What a poll yields besides plain messages.
public enum SourceEvent {
    case message(IncomingMessage)
    /// The partition has no more messages right now; `offset` is the next one to arrive.
    case endOfPartition(partition: Int32, offset: Int64)
    /// The fetch position is outside the log (retention deleted what we had not loaded):
    /// the partition stops until it is sought again.
    case positionOutOfRange(partition: Int32)
}

/// Kafka, as the worker sees it. One topic; partitions by number.
public protocol EventSource: AnyObject {
    /// Whom to ask for start offsets when partitions arrive. Called from inside `poll`.
    var assignmentListener: (any AssignmentListener)? { get set }
    /// Joins the group (or, without one, takes every partition) and starts fetching.
    func start() throws
    /// Hands fetched messages and events to `body` until `timeoutMs` passes or
    /// `maxMessages` were handed; serves rebalances on the calling thread.
    func poll(maxMessages: Int, timeoutMs: Int32, _ body: (SourceEvent) -> Void) throws
    /// Takes what has been fetched ahead of the next `poll`, which hands it over first, waiting up
    /// to `timeoutMs` for something to take; the worker calls it while its batches commit, so no
    /// rebalance may reach the listener here. Returns false when it can take nothing more before
    /// the next `poll`.
    func prefetch(timeoutMs: Int32) -> Bool
    /// The log start and end offsets of a partition, from the broker.
    func watermarks(partition: Int32) throws -> (low: Int64, high: Int64)
    /// Moves a partition's fetch position (after a fenced batch or a gap).
    func seek(partition: Int32, to offset: Int64) throws
    /// Reports loaded offsets to Kafka for lag tools; never the source of truth.
    func reportLoaded(_ nextOffsets: [(partition: Int32, nextOffset: Int64)])
    /// Leaves the group; the revoke callback runs.
    func close()
    /// The partition's high watermark as of the last fetch, without a broker request (nil when
    /// unknown): the lag metric reads it after every pass of the loop.
    func cachedHighWatermark(partition: Int32) -> Int64?
}

extension EventSource {
    public func cachedHighWatermark(partition: Int32) -> Int64? { nil }
}

/// The worker's side of a rebalance.
public protocol AssignmentListener: AnyObject {
    /// Start offsets for newly assigned partitions (same order), or nil to take none.
    func partitionsAssigned(_ partitions: [Int32]) -> [Int64]?
    func partitionsRevoked(_ partitions: [Int32])
}
