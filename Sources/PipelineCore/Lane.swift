import Dispatch

/// One database connection's share of the worker: the partitions whose number
/// modulo the lane count is `index`, the batch being built for them, and the
/// sink (its own connection) that commits it. Lanes own disjoint partitions, so
/// their transactions never touch the same etl.offsets rows.
final class Lane: @unchecked Sendable {
    // @unchecked: a lane is used by one thread at a time. The worker thread fills it;
    // during LaneSet.commitAll the lane's queue commits it while the worker thread
    // waits on the DispatchGroup (prefetching from Kafka meanwhile, never touching a
    // lane), whose wait orders the hand-off both ways. Neither
    // the sink (libpq forbids concurrent use of a connection, not a change of thread)
    // nor the batch is ever touched by two threads at once.
    let index: Int
    let sink: any EventSink
    /// Empty whenever nothing is in flight.
    var batch: EventBatch
    /// Where the lane's thread leaves `commit`'s result for the worker thread.
    var commitResult: Result<CommitOutcome?, any Error>?
    /// The lane's thread for parallel commits (a serial queue: one thread of its own).
    let queue: DispatchQueue

    init(index: Int, sink: any EventSink, topic: String, expectedBytes: Int) {
        self.index = index
        self.sink = sink
        self.batch = EventBatch(topic: topic, expectedBytes: expectedBytes)
        self.queue = DispatchQueue(label: "pipeline.lane.\(index)")
    }

    /// Commits the batch, retrying; nil when a stop came while the database was unreachable.
    /// Stamps COMMIT's return here, on the thread that saw it: ingest latency ends there.
    func commit(retrier: Retrier) -> Result<CommitOutcome?, any Error> {
        Result {
            let outcome = try retrier.run(.commitBatch, batchID: batch.batchID) { try sink.commit(batch) }
            guard case .committed(var summary) = outcome else { return outcome }
            summary.committedAtMicros = WallClock.nowMicros()
            return .committed(summary)
        }
    }

    /// Empties the batch, committed or not; its buffers keep their capacity.
    func discardBatch() { batch.reset(batchID: 0, startedAtMicros: 0) }
}
