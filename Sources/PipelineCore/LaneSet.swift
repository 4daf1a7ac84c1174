import Dispatch

/// The worker's lanes: which lane a partition belongs to, the totals the
/// batch-closing rules apply to, and the fork-join that commits every lane's
/// batch at once. COPY into staging.events runs on one core per backend; a lane
/// per connection lets a cycle's COPY work use several.
final class LaneSet {
    let lanes: [Lane]

    /// One lane per sink. The batches' buffers share the reservation one batch had,
    /// so memory follows the batch-size limits, not the number of lanes.
    init(sinks: [any EventSink], topic: String, expectedBytes: Int) {
        precondition(!sinks.isEmpty, "a worker needs at least one sink")
        lanes = sinks.enumerated().map { index, sink in
            Lane(index: index, sink: sink, topic: topic, expectedBytes: expectedBytes / sinks.count)
        }
    }

    func lane(for partition: Int32) -> Lane { lanes[Int(partition) % lanes.count] }

    /// Messages in every lane's batch: the cycle closes at --max-batch-events of these.
    var messages: Int { lanes.reduce(0) { $0 + $1.batch.messages } }
    /// Bytes of message values in every lane's batch: the cycle closes at --max-batch-bytes.
    var bytes: Int { lanes.reduce(0) { $0 + $1.batch.bytes } }
    var isEmpty: Bool { lanes.allSatisfy { $0.batch.isEmpty } }

    /// Commits every non-empty lane's batch, each on its lane's thread, and
    /// returns when all have, with their results in lane order. A single batch
    /// commits on the calling thread (no hand-off: one lane behaves as no lanes).
    func commitAll(retrier: Retrier) -> [(lane: Lane, result: Result<CommitOutcome?, any Error>)] {
        let loaded = lanes.filter { !$0.batch.isEmpty }
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
