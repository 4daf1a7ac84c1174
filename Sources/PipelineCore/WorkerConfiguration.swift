import EventContract

public struct WorkerConfiguration: Sendable {
    public var topic: String
    /// Names this worker in etl.batches, etl.offsets and logs.
    public var workerID: String
    /// A batch closes when this much time has passed since its first poll...
    public var intervalMs: Int = 1000
    /// ...or it holds this many messages...
    public var maxBatchEvents: Int = 50_000
    /// ...or this many bytes of message values.
    public var maxBatchBytes: Int = 64 << 20
    /// Where a partition with no etl.offsets row starts.
    public var startFrom: StartPosition = .earliest
    /// Load what the assigned partitions held when they were assigned, then stop.
    public var availableNow = false
    public var limits = ContractLimits()
    /// Messages per librdkafka batch call.
    public var pollBatchSize = 10_000

    public init(topic: String, workerID: String) {
        self.topic = topic
        self.workerID = workerID
    }
}
