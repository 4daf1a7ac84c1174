/// The worker's decisions, with no IO (DESIGN.md, "The exactly-once protocol"):
/// which partitions are ours and where each stands, which polled message goes
/// into which lane's batch, when a batch closes, what a commit's outcome means,
/// where a fenced or out-of-range partition starts again, when --available-now
/// is done and when a stop ends the run. `Worker` feeds it events (messages,
/// rebalances, commit outcomes, re-read offsets, a stop, the clock) and performs
/// the actions it returns; the tests drive it with no Kafka and no PostgreSQL.
///
/// The loop the driver runs: ask `nextAction(nowMs:)`, perform it, report the
/// result as an event, ask again. A cycle is: reserve batch ids → poll until
/// the batch closes → commit the lanes' batches → re-seek fenced partitions →
/// recover out-of-range ones → report lag → finish or start the next cycle.
/// Commit outcomes arrive per lane, so a later driver could poll the next batch
/// while the lanes commit; today polling and committing alternate on one thread.
struct WorkerStateMachine {
    /// What the driver does next in its loop.
    enum LoopAction: Equatable {
        /// Reserve an id for each of these lanes' next batch, reporting each with `batchIDReserved`.
        case reserveBatchIDs(lanes: [Int])
        /// Poll the source, reporting what it yields (messages, ends, rebalances) as events.
        case poll(maxMessages: Int, timeoutMs: Int32)
        /// The batch closed: commit these lanes' batches, reporting each outcome.
        case commit(lanes: [Int])
        /// Read these fenced partitions' rows of etl.offsets and report them with `offsetsReread`.
        case reseek(partitions: [Int32])
        /// Claim these out-of-range partitions again and report the starts with `partitionsRecovered`.
        case recover(partitions: [Int32])
        /// Report lag: Kafka's high watermark minus each owned partition's loaded position.
        case reportLag(loaded: [LoadedPosition])
        /// Stop (asked to, or --available-now is done): return the summary.
        case finish(Worker.Summary)
    }

    /// What a polled message becomes.
    enum MessageAction: Equatable {
        /// Not ours (any more), stalled, or already in this batch: never twice.
        case skip
        /// Validate it into the lane's batch; `expectedNextOffset` is the fencing condition.
        case add(lane: Int, expectedNextOffset: Int64)
        /// The lane's first message since its batch was emptied: reset the batch with this id, then add.
        case startBatch(lane: Int, batchID: Int64, expectedNextOffset: Int64)
    }

    /// What the driver does after a rebalance, a commit's outcome or a re-read of etl.offsets.
    enum Action: Equatable {
        /// Log the batch's line, tell observers, report its offsets to Kafka, empty the lane.
        case batchCommitted(lane: Int, CommitSummary)
        /// Another worker advanced `partition`: the transaction rolled back. Tell observers, empty the lane.
        case batchFenced(lane: Int, partition: Int32)
        /// Nothing of the lane's batch is written: tell observers, say why, empty the lane.
        case batchDropped(lane: Int, DropReason)
        /// Offsets Kafka deleted before they were loaded, already in etl.gaps: log loudly, tell observers.
        case gapRecorded(partition: Int32, lost: ClosedRange<Int64>)
        /// Move the partition's fetch position.
        case seek(partition: Int32, offset: Int64)
        /// The partitions owned now: tell observers.
        case assignmentChanged(owned: [Int32])
    }

    enum DropReason: Equatable {
        /// The partitions were revoked: the new owner starts from etl.offsets.
        case revoked
        /// A stop came while the commit waited to be retried.
        case shutdown
    }

    /// An owned partition and how far etl.offsets says it is loaded.
    struct LoadedPosition: Equatable {
        var partition: Int32
        var nextOffset: Int64
    }

    /// Our view of one assigned partition.
    struct PartitionState {
        /// etl.offsets.next_offset as of our last claim or commit.
        var committedNext: Int64
        /// The next offset we expect from Kafka; anything below is a stale duplicate.
        var position: Int64
        /// The offset librdkafka reported as the end of the partition, when it did.
        var endReached: Int64?
        /// Fetching stopped (position out of range); waiting for recovery.
        var outOfRange = false

        init(startingAt offset: Int64) {
            committedNext = offset
            position = offset
        }
    }

    /// One lane's batch, as far as the decisions need it (the batch itself is the driver's).
    struct LaneState {
        /// The id the lane's next batch carries; nil once a batch with it committed.
        var reservedBatchID: Int64?
        var messages = 0
        /// Bytes of message values.
        var bytes = 0
        /// Closed and handed to the lane to commit; its outcome is due.
        var committing = false
    }

    enum Phase: Equatable {
        /// Reserve batch ids, then open the batch (or finish, once a stop was requested).
        case startingCycle
        /// Polling into the lanes' batches until `deadlineMs` or a size limit.
        case filling(deadlineMs: Int64)
        /// The lanes' batches are committing; each lane's outcome is due.
        case committing
        case reseeking
        case recovering
        case reportingLag
        case finished
    }

    private let intervalMs: Int64
    private let maxBatchEvents: Int
    private let maxBatchBytes: Int
    private let pollBatchSize: Int
    private let availableNow: Bool

    /// Polling after a commit that outlasted `--interval` goes on at least this long (or the
    /// interval, when shorter), so the messages that queued meanwhile make the next batch.
    static let minimumFillMs: Int64 = 100

    private(set) var phase = Phase.startingCycle
    /// When the last batch closed (committed or not), monotonic ms; nil before the first.
    private var lastCloseMs: Int64?
    private(set) var summary = Worker.Summary()
    /// Indexed by partition number; nil = not assigned to us.
    private(set) var partitions: [PartitionState?] = []
    private(set) var lanes: [LaneState]
    /// --available-now: the high watermark each partition had when first assigned.
    private var availableNowTargets: [Int32: Int64] = [:]
    private var stopIsRequested = false
    /// Partitions of the cycle's fenced batches, re-sought once every lane's outcome is in.
    private var fencedPartitions: [Int32] = []

    init(configuration: WorkerConfiguration, laneCount: Int) {
        precondition(laneCount > 0, "a worker needs at least one lane")
        intervalMs = Int64(configuration.intervalMs)
        maxBatchEvents = configuration.maxBatchEvents
        maxBatchBytes = configuration.maxBatchBytes
        pollBatchSize = configuration.pollBatchSize
        availableNow = configuration.availableNow
        lanes = Array(repeating: LaneState(), count: laneCount)
    }

    // MARK: - The loop

    /// The next step of the cycle at monotonic time `nowMs`.
    mutating func nextAction(nowMs: Int64) -> LoopAction {
        while true {
            switch phase {
            case .startingCycle:
                if stopIsRequested {
                    phase = .finished
                    continue
                }
                let unreserved = lanes.indices.filter { lanes[$0].reservedBatchID == nil }
                if !unreserved.isEmpty { return .reserveBatchIDs(lanes: unreserved) }
                phase = .filling(deadlineMs: fillDeadline(nowMs: nowMs))
            case .filling(let deadlineMs):
                let messages = lanes.reduce(0) { $0 + $1.messages }
                let bytes = lanes.reduce(0) { $0 + $1.bytes }
                let remainingMs = deadlineMs - nowMs
                let closes =
                    stopIsRequested || remainingMs <= 0 || messages >= maxBatchEvents || bytes >= maxBatchBytes
                    || partitions.contains { $0?.outOfRange == true } || (availableNow && isCaughtUp)
                if !closes {
                    return .poll(
                        maxMessages: min(pollBatchSize, maxBatchEvents - messages),
                        timeoutMs: Int32(min(remainingMs, 100)))
                }
                lastCloseMs = nowMs
                let loaded = lanes.indices.filter { lanes[$0].messages > 0 }
                if loaded.isEmpty {
                    phase = .recovering
                    continue
                }
                for lane in loaded { lanes[lane].committing = true }
                phase = .committing
                return .commit(lanes: loaded)
            case .committing:
                preconditionFailure("the lanes' commit outcomes are due before the loop goes on")
            case .reseeking:
                phase = .recovering
                if !fencedPartitions.isEmpty {
                    defer { fencedPartitions = [] }
                    return .reseek(partitions: fencedPartitions)
                }
            case .recovering:
                phase = .reportingLag
                let stalled = partitions.indices.filter { partitions[$0]?.outOfRange == true }.map { Int32($0) }
                if !stalled.isEmpty { return .recover(partitions: stalled) }
            case .reportingLag:
                phase = availableNow && isCaughtUp ? .finished : .startingCycle
                return .reportLag(
                    loaded: partitions.indices.compactMap { index in
                        partitions[index].map { LoadedPosition(partition: Int32(index), nextOffset: $0.committedNext) }
                    })
            case .finished:
                return .finish(summary)
            }
        }
    }

    /// Batches close `--interval` after the one before closed, not after they open: the time a
    /// commit takes counts against the next batch's polling, so on a steady stream an event
    /// waits for one interval and one commit, not for the commit before it as well (issue 13's
    /// latency target). A commit longer than the interval leaves the next batch
    /// `minimumFillMs` to take what queued meanwhile.
    private func fillDeadline(nowMs: Int64) -> Int64 {
        guard let lastCloseMs else { return nowMs + intervalMs }
        return max(lastCloseMs + intervalMs, nowMs + min(intervalMs, Self.minimumFillMs))
    }

    /// A stop was requested: the open batch closes and commits, then the run finishes.
    mutating func stopRequested() { stopIsRequested = true }

    /// A lane's batch id, or nil when a stop came while the database was unreachable:
    /// then no batch opens this cycle.
    mutating func batchIDReserved(lane: Int, _ batchID: Int64?) {
        guard let batchID else {
            if phase == .startingCycle { phase = .recovering }
            return
        }
        lanes[lane].reservedBatchID = batchID
    }

    // MARK: - Polling

    /// A message from the source. Called once per message: keep it cheap.
    mutating func messagePolled(partition: Int32, offset: Int64, bytes: Int) -> MessageAction {
        let index = Int(partition)
        guard partitions.indices.contains(index), let state = partitions[index], !state.outOfRange,
            offset >= state.position
        else { return .skip }
        partitions[index]!.position = offset + 1
        let lane = index % lanes.count
        lanes[lane].bytes += bytes
        lanes[lane].messages += 1
        guard lanes[lane].messages == 1 else { return .add(lane: lane, expectedNextOffset: state.committedNext) }
        guard let batchID = lanes[lane].reservedBatchID else {
            preconditionFailure("a batch opened before its lane had a batch id")
        }
        return .startBatch(lane: lane, batchID: batchID, expectedNextOffset: state.committedNext)
    }

    /// The partition has no more messages right now; `offset` is the next one to arrive.
    mutating func partitionEnded(_ partition: Int32, at offset: Int64) {
        let index = Int(partition)
        guard partitions.indices.contains(index), partitions[index] != nil else { return }
        partitions[index]!.endReached = offset
    }

    /// The partition's fetch position fell outside the log: the batch closes and the
    /// partition is claimed again (its gap recorded) before the next one opens.
    mutating func positionOutOfRange(_ partition: Int32) {
        let index = Int(partition)
        guard partitions.indices.contains(index), partitions[index] != nil else { return }
        partitions[index]!.outOfRange = true
    }

    // MARK: - Rebalances

    /// The partitions' watermarks, read while claiming them. With --available-now the
    /// first high watermark seen for a partition is where it counts as loaded.
    mutating func watermarksRead(_ watermarks: [PartitionWatermarks]) {
        guard availableNow else { return }
        for marks in watermarks where availableNowTargets[marks.partition] == nil {
            availableNowTargets[marks.partition] = marks.high
        }
    }

    /// Partitions assigned to us, each starting where the claim says (etl.offsets,
    /// --start-from, or the log start after a gap).
    mutating func partitionsAssigned(_ starts: [PartitionStart]) -> [Action] {
        var actions: [Action] = []
        for start in starts {
            let index = Int(start.partition)
            while partitions.count <= index { partitions.append(nil) }
            partitions[index] = PartitionState(startingAt: start.nextOffset)
            if let lost = start.lostRange { actions.append(recordGap(start.partition, lost)) }
        }
        actions.append(.assignmentChanged(owned: ownedPartitions))
        return actions
    }

    /// Partitions taken from us. Every open batch is dropped, never committed: the new
    /// owner starts from etl.offsets.
    mutating func partitionsRevoked(_ revoked: [Int32]) -> [Action] {
        var actions: [Action] = []
        for lane in lanes.indices where lanes[lane].messages > 0 {
            summary.droppedBatches += 1
            emptyLane(lane)
            actions.append(.batchDropped(lane: lane, .revoked))
        }
        for partition in revoked where Int(partition) < partitions.count {
            partitions[Int(partition)] = nil
        }
        actions.append(.assignmentChanged(owned: ownedPartitions))
        return actions
    }

    // MARK: - Commit outcomes

    /// The lane's batch committed: its partitions are loaded up to the batch's last offsets.
    mutating func batchCommitted(lane: Int, _ batch: EventBatch, _ commit: CommitSummary) -> Action {
        for range in batch.partitionRanges {
            partitions[Int(range.partition)]?.committedNext = range.lastOffset + 1
        }
        summary.batches += 1
        // Rows PostgreSQL refused at COPY were dead-lettered: rejected, not loaded.
        summary.events += commit.newEvents(in: batch)
        summary.rejected += commit.rejected(in: batch)
        summary.duplicates += commit.duplicates
        summary.conflicts += commit.conflicts
        lanes[lane].reservedBatchID = nil
        settled(lane)
        return .batchCommitted(lane: lane, commit)
    }

    /// Another worker had advanced `partition`'s offset: the transaction rolled back and
    /// the batch's partitions start again from etl.offsets once the cycle's outcomes are in.
    mutating func batchFenced(lane: Int, _ batch: EventBatch, partition: Int32) -> Action {
        summary.fencedBatches += 1
        for range in batch.partitionRanges where !fencedPartitions.contains(range.partition) {
            fencedPartitions.append(range.partition)
        }
        settled(lane)
        return .batchFenced(lane: lane, partition: partition)
    }

    /// A stop came while the lane's commit waited to be retried: its batch is dropped.
    mutating func batchAbandoned(lane: Int) -> Action {
        summary.droppedBatches += 1
        settled(lane)
        return .batchDropped(lane: lane, .shutdown)
    }

    /// etl.offsets as re-read after a fenced batch: each partition still ours starts there.
    mutating func offsetsReread(_ stored: [Int32: Int64]) -> [Action] {
        var actions: [Action] = []
        for (partition, next) in stored.sorted(by: { $0.key < $1.key }) {
            guard Int(partition) < partitions.count, partitions[Int(partition)] != nil else { continue }
            partitions[Int(partition)]!.committedNext = next
            partitions[Int(partition)]!.position = next
            actions.append(.seek(partition: partition, offset: next))
        }
        return actions
    }

    /// Out-of-range partitions claimed again: the lost offsets are recorded, fetching resumes at the start.
    mutating func partitionsRecovered(_ starts: [PartitionStart]) -> [Action] {
        var actions: [Action] = []
        for start in starts {
            if let lost = start.lostRange { actions.append(recordGap(start.partition, lost)) }
            let index = Int(start.partition)
            while partitions.count <= index { partitions.append(nil) }
            partitions[index] = PartitionState(startingAt: start.nextOffset)
            actions.append(.seek(partition: start.partition, offset: start.nextOffset))
        }
        return actions
    }

    // MARK: - Helpers

    /// Every assigned partition is loaded up to where it ended when first assigned.
    var isCaughtUp: Bool {
        guard lanes.allSatisfy({ $0.messages == 0 }) else { return false }
        var assigned = 0
        for (index, state) in partitions.enumerated() {
            guard let state else { continue }
            assigned += 1
            guard let target = availableNowTargets[Int32(index)] else { return false }
            let loaded = max(state.committedNext, state.position == state.committedNext ? (state.endReached ?? 0) : 0)
            if state.outOfRange || loaded < target { return false }
        }
        return assigned > 0
    }

    var ownedPartitions: [Int32] { partitions.indices.filter { partitions[$0] != nil }.map { Int32($0) } }

    private mutating func recordGap(_ partition: Int32, _ lost: ClosedRange<Int64>) -> Action {
        summary.gaps += 1
        return .gapRecorded(partition: partition, lost: lost)
    }

    private mutating func emptyLane(_ lane: Int) {
        lanes[lane].messages = 0
        lanes[lane].bytes = 0
        lanes[lane].committing = false
    }

    /// The lane's outcome is in; with the last one, the cycle goes on.
    private mutating func settled(_ lane: Int) {
        emptyLane(lane)
        if phase == .committing && !lanes.contains(where: \.committing) { phase = .reseeking }
    }
}
