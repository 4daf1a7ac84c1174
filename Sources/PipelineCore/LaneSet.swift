import Dispatch

/// The worker's lanes and the fork-join that commits their batches at once (which
/// lane a partition's messages go to is `WorkerStateMachine`'s call: its number
/// modulo the lane count). COPY into staging.events runs on one core per
/// backend; a lane per connection lets a cycle's COPY work use several.
final class LaneSet {
    let lanes: [Lane]

    /// One lane per sink. Each reserves room for a whole batch (one lane may get every
    /// partition); only what a lane writes becomes resident, so memory follows the batches,
    /// not the number of lanes.
    init(sinks: [any EventSink], topic: String, expectedBytes: Int) {
        precondition(!sinks.isEmpty, "a worker needs at least one sink")
        lanes = sinks.enumerated().map { index, sink in
            Lane(index: index, sink: sink, topic: topic, expectedBytes: expectedBytes)
        }
    }

    /// Commits the batches of the lanes at `indices`, each on its lane's thread, and
    /// returns when all have, with their results in lane order. A single batch
    /// commits on the calling thread (no hand-off: one lane behaves as no lanes).
    func commitAll(_ indices: [Int], retrier: Retrier) -> [(lane: Lane, result: Result<CommitOutcome?, any Error>)] {
        let loaded = indices.map { lanes[$0] }
        if loaded.count == 1 { return [(loaded[0], loaded[0].commit(retrier: retrier))] }
        let group = DispatchGroup()
        for lane in loaded {
            lane.queue.async(group: group) { lane.commitResult = lane.commit(retrier: retrier) }
        }
        group.wait()
        return loaded.map { lane in
            defer { lane.commitResult = nil }
            return (lane, lane.commitResult!)
        }
    }
}
