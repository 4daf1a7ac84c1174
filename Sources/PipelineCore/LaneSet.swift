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
    /// returns when all have, with their results in lane order. Meanwhile the calling
    /// thread runs `whileWaiting` again and again, until it returns false or the commits end
    /// (each run should return within a few milliseconds).
    func commitAll(
        _ indices: [Int], retrier: Retrier, whileWaiting: () -> Bool
    ) -> [(lane: Lane, result: Result<CommitOutcome?, any Error>)] {
        let loaded = indices.map { lanes[$0] }
        let group = DispatchGroup()
        for lane in loaded {
            lane.queue.async(group: group) { lane.commitResult = lane.commit(retrier: retrier) }
        }
        while group.wait(timeout: .now()) == .timedOut {
            guard whileWaiting() else {
                group.wait()
                break
            }
        }
        return loaded.map { lane in
            defer { lane.commitResult = nil }
            return (lane, lane.commitResult!)
        }
    }
}
