import EventContract
import Testing

@testable import PipelineCore

/// Drives a `WorkerStateMachine` the way `Worker` does, with the lanes' batches built
/// in memory from the actions it returns: no Kafka, no PostgreSQL, no clock but `nowMs`.
struct MachineHarness {
    typealias Machine = WorkerStateMachine

    var machine: Machine
    var batches: [EventBatch]
    var nowMs: Int64 = 0

    /// A valid event (accepted) and a payload without an event_id (rejected).
    static let accepted = BatchFixture.log
    static let refused = BatchFixture.missingID

    init(lanes: Int = 1, _ configure: (inout WorkerConfiguration) -> Void = { _ in }) {
        var configuration = WorkerConfiguration(topic: BatchFixture.topic, workerID: "test")
        configuration.intervalMs = 1000
        configure(&configuration)
        machine = Machine(configuration: configuration, laneCount: lanes)
        batches = Array(repeating: EventBatch(topic: BatchFixture.topic), count: lanes)
    }

    /// A machine whose first batch is open (ids reserved, polling) with `starts` assigned in that poll.
    static func polling(
        lanes: Int = 1, _ starts: [PartitionStart], high: [Int32: Int64] = [:], firstID: Int64 = 1,
        _ configure: (inout WorkerConfiguration) -> Void = { _ in }
    ) -> MachineHarness {
        var harness = MachineHarness(lanes: lanes, configure)
        _ = harness.reserveAndNext(firstID: firstID)
        _ = harness.assign(starts, high: high)
        return harness
    }

    mutating func next() -> Machine.LoopAction { machine.nextAction(nowMs: nowMs) }

    /// The cycle ends: lag is reported over `loaded` and the run finishes with `summary`.
    mutating func expectFinish(
        _ loaded: [Machine.LoadedPosition], _ summary: Worker.Summary, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(next() == .reportLag(loaded: loaded), sourceLocation: sourceLocation)
        #expect(next() == .finish(summary), sourceLocation: sourceLocation)
    }

    /// Reserves ids 1, 2, … for the lanes that ask (lane + 1 + `firstID` - 1), then returns the next action.
    mutating func reserveAndNext(firstID: Int64 = 1) -> Machine.LoopAction {
        var action = next()
        if case .reserveBatchIDs(let lanes) = action {
            for lane in lanes { machine.batchIDReserved(lane: lane, firstID + Int64(lane)) }
            action = next()
        }
        return action
    }

    /// `partition`'s `offsets` arrive from a poll; each is added to its lane's batch as the machine says.
    @discardableResult
    mutating func poll(
        _ partition: Int32, _ offsets: ClosedRange<Int64>, payload: [UInt8] = accepted
    ) -> [Machine.MessageAction] {
        offsets.map { offset in
            let action = machine.messagePolled(partition: partition, offset: offset, bytes: payload.count)
            var message = TestMessage(
                partition: partition, offset: offset, timestampMs: nil, key: nil, payload: payload)
            switch action {
            case .skip:
                break
            case .add(let lane, let expectedNextOffset):
                message.expectedNextOffset = expectedNextOffset
                batches[lane].add(message)
            case .startBatch(let lane, let batchID, let expectedNextOffset):
                message.expectedNextOffset = expectedNextOffset
                batches[lane].reset(batchID: batchID, startedAtMicros: testNowMicros)
                batches[lane].add(message)
            }
            return action
        }
    }

    mutating func assign(_ starts: [PartitionStart], high: [Int32: Int64] = [:]) -> [Machine.Action] {
        machine.watermarksRead(
            starts.map { PartitionWatermarks(partition: $0.partition, low: 0, high: high[$0.partition] ?? 0) })
        return machine.partitionsAssigned(starts)
    }

    mutating func committed(lane: Int, _ commit: CommitSummary = CommitSummary()) -> Machine.Action {
        defer { batches[lane].reset(batchID: 0, startedAtMicros: 0) }
        return machine.batchCommitted(lane: lane, batches[lane], commit)
    }

    mutating func fenced(lane: Int, partition: Int32) -> Machine.Action {
        defer { batches[lane].reset(batchID: 0, startedAtMicros: 0) }
        return machine.batchFenced(lane: lane, batches[lane], partition: partition)
    }
}

func start(_ partition: Int32, at offset: Int64, lost: ClosedRange<Int64>? = nil) -> PartitionStart {
    PartitionStart(partition: partition, nextOffset: offset, lostRange: lost)
}

func loaded(_ partition: Int32, _ nextOffset: Int64) -> WorkerStateMachine.LoadedPosition {
    WorkerStateMachine.LoadedPosition(partition: partition, nextOffset: nextOffset)
}

@Suite("WorkerStateMachine: the worker's decisions, driven by events")
struct WorkerStateMachineTests {
    // MARK: - Closing a batch

    @Test("a batch closes at --max-batch-events, counted over every lane; polls ask only for the room left")
    func closesByCount() {
        var harness = MachineHarness(lanes: 2) {
            $0.maxBatchEvents = 5
            $0.pollBatchSize = 3
        }
        #expect(harness.next() == .reserveBatchIDs(lanes: [0, 1]))
        #expect(harness.reserveAndNext() == .poll(maxMessages: 3, timeoutMs: 100))
        _ = harness.assign([start(0, at: 0), start(1, at: 0)])
        harness.poll(0, 0...2)
        #expect(harness.next() == .poll(maxMessages: 2, timeoutMs: 100))
        harness.poll(1, 0...1)
        #expect(harness.next() == .commit(lanes: [0, 1]))
        #expect(harness.batches.map(\.messages) == [3, 2])
    }

    @Test("a batch closes at --max-batch-bytes of message values")
    func closesByBytes() {
        let size = MachineHarness.accepted.count
        var harness = MachineHarness.polling([start(0, at: 0)]) { $0.maxBatchBytes = 2 * size + 1 }
        harness.poll(0, 0...1)
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 100))
        harness.poll(0, 2...2)
        #expect(harness.next() == .commit(lanes: [0]))
        #expect(harness.batches[0].bytes == 3 * size)
    }

    @Test("a batch closes when --interval has passed since it opened; an empty one commits nothing")
    func closesByTime() {
        var harness = MachineHarness()
        harness.nowMs = 5000
        #expect(harness.reserveAndNext() == .poll(maxMessages: 10_000, timeoutMs: 100))
        harness.nowMs = 5950
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 50))
        harness.nowMs = 6000
        #expect(harness.next() == .reportLag(loaded: []), "nothing polled: no commit")
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 100), "the reserved id is kept")

        _ = harness.assign([start(0, at: 0)])
        harness.poll(0, 0...0)
        harness.nowMs = 6999
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 1))
        harness.nowMs = 7000
        #expect(harness.next() == .commit(lanes: [0]))
    }

    @Test(
        "the next batch closes --interval after the one before closed: its commit's time counts, at least 100 ms polled"
    )
    func closesOnCadence() {
        var harness = MachineHarness.polling([start(0, at: 0)])
        harness.poll(0, 0...0)
        harness.nowMs = 1000
        #expect(harness.next() == .commit(lanes: [0]))
        harness.nowMs = 1400  // the commit took 400 ms
        #expect(harness.committed(lane: 0) == .batchCommitted(lane: 0, CommitSummary()))
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 1)]))
        #expect(harness.reserveAndNext(firstID: 2) == .poll(maxMessages: 10_000, timeoutMs: 100))
        harness.poll(0, 1...1)
        harness.nowMs = 1950
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 50), "closes at 2000, not at 2400")
        harness.nowMs = 2000
        #expect(harness.next() == .commit(lanes: [0]))

        harness.nowMs = 3500  // a commit longer than the interval
        #expect(harness.committed(lane: 0) == .batchCommitted(lane: 0, CommitSummary()))
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 2)]))
        #expect(harness.reserveAndNext(firstID: 3) == .poll(maxMessages: 10_000, timeoutMs: 100))
        harness.poll(0, 2...2)
        harness.nowMs = 3599
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 1), "what queued meanwhile is taken")
        harness.nowMs = 3600
        #expect(harness.next() == .commit(lanes: [0]))
    }

    @Test("a committed batch advances its partitions, counts what it loaded, and the next batch needs a new id")
    func committedBatch() {
        var harness = MachineHarness.polling([start(0, at: 10), start(1, at: 0)])
        #expect(
            harness.poll(0, 10...11) == [
                .startBatch(lane: 0, batchID: 1, expectedNextOffset: 10), .add(lane: 0, expectedNextOffset: 10),
            ])
        harness.poll(1, 0...0, payload: MachineHarness.refused)
        harness.machine.stopRequested()
        #expect(harness.next() == .commit(lanes: [0]), "a stop commits the open batch")
        let commit = CommitSummary(refusedRows: 0, duplicates: 1)
        #expect(harness.committed(lane: 0, commit) == .batchCommitted(lane: 0, commit))
        harness.expectFinish(
            [loaded(0, 12), loaded(1, 1)], Worker.Summary(batches: 1, events: 1, rejected: 1, duplicates: 1))
        #expect(harness.machine.lanes[0].reservedBatchID == nil)
    }

    // MARK: - Rebalances

    @Test("revocation in the middle of a batch drops it; the new owner starts from etl.offsets")
    func revocationMidBatch() {
        var harness = MachineHarness.polling([start(0, at: 40), start(1, at: 0)])
        harness.poll(0, 40...44)
        harness.poll(1, 0...1)

        let actions = harness.machine.partitionsRevoked([0])
        #expect(actions == [.batchDropped(lane: 0, .revoked), .assignmentChanged(owned: [1])])
        #expect(harness.machine.summary.droppedBatches == 1)
        #expect(harness.poll(0, 45...45) == [.skip], "no longer ours")
        harness.nowMs = 1000
        #expect(harness.next() == .reportLag(loaded: [loaded(1, 0)]), "nothing left to commit")

        // etl.offsets never moved: whoever claims partition 0 next starts at 40 and reads 40 again.
        var owner = MachineHarness()
        _ = owner.reserveAndNext()
        #expect(owner.assign([start(0, at: 40)]) == [.assignmentChanged(owned: [0])])
        #expect(owner.poll(0, 40...40) == [.startBatch(lane: 0, batchID: 1, expectedNextOffset: 40)])
        // Given back to the first worker, the same holds there.
        _ = harness.next()
        _ = harness.assign([start(0, at: 40)])
        #expect(harness.poll(0, 40...40) == [.startBatch(lane: 0, batchID: 1, expectedNextOffset: 40)])
    }

    @Test("a fenced commit rolls back: the batch's partitions start again where etl.offsets says")
    func fencedCommit() {
        var harness = MachineHarness.polling([start(0, at: 3), start(1, at: 0)])
        harness.poll(0, 3...5)
        harness.poll(1, 0...1)
        harness.nowMs = 1000
        #expect(harness.next() == .commit(lanes: [0]))
        #expect(harness.fenced(lane: 0, partition: 1) == .batchFenced(lane: 0, partition: 1))
        #expect(harness.next() == .reseek(partitions: [0, 1]))
        // Another worker loaded partition 1 up to 2; partition 0 was untouched.
        #expect(
            harness.machine.offsetsReread([0: 3, 1: 2]) == [
                .seek(partition: 0, offset: 3), .seek(partition: 1, offset: 2),
            ])
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 3), loaded(1, 2)]))
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 100), "the unused id is kept")
        #expect(harness.poll(1, 1...2) == [.skip, .startBatch(lane: 0, batchID: 1, expectedNextOffset: 2)])
        #expect(harness.poll(0, 3...3) == [.add(lane: 0, expectedNextOffset: 3)])
        #expect(harness.machine.summary == Worker.Summary(fencedBatches: 1))
    }

    @Test("with lanes, one lane fenced leaves the other's batch of the same cycle committed")
    func fencedLaneBesideCommittedLane() {
        var harness = MachineHarness.polling(lanes: 2, (0...3).map { start($0, at: 0) }, firstID: 10)
        #expect(harness.poll(2, 0...0) == [.startBatch(lane: 0, batchID: 10, expectedNextOffset: 0)])
        #expect(
            harness.poll(3, 0...1) == [
                .startBatch(lane: 1, batchID: 11, expectedNextOffset: 0), .add(lane: 1, expectedNextOffset: 0),
            ])
        harness.poll(1, 0...0)
        harness.nowMs = 1000
        #expect(harness.next() == .commit(lanes: [0, 1]))
        #expect(harness.committed(lane: 0) == .batchCommitted(lane: 0, CommitSummary()))
        #expect(harness.machine.phase == .committing, "lane 1's outcome is still due")
        #expect(harness.fenced(lane: 1, partition: 3) == .batchFenced(lane: 1, partition: 3))
        #expect(harness.next() == .reseek(partitions: [1, 3]), "only the fenced lane's partitions")
        #expect(harness.machine.offsetsReread([1: 0, 3: 2]).count == 2)
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 0), loaded(1, 0), loaded(2, 1), loaded(3, 2)]))
        #expect(harness.next() == .reserveBatchIDs(lanes: [0]))
        #expect(harness.machine.summary == Worker.Summary(batches: 1, events: 1, fencedBatches: 1))
    }

    // MARK: - Gaps

    @Test("a gap found when claiming is recorded and loading starts at the log start")
    func gapOnAssignment() {
        var harness = MachineHarness()
        _ = harness.reserveAndNext()
        let actions = harness.assign([start(0, at: 100, lost: 20...99), start(1, at: 0)])
        #expect(actions == [.gapRecorded(partition: 0, lost: 20...99), .assignmentChanged(owned: [0, 1])])
        #expect(harness.machine.summary.gaps == 1)
        #expect(harness.poll(0, 100...100) == [.startBatch(lane: 0, batchID: 1, expectedNextOffset: 100)])
    }

    @Test("a position out of range closes the batch; the partition is claimed again, its gap recorded")
    func gapWhileLoading() {
        var harness = MachineHarness.polling([start(0, at: 100), start(1, at: 0)])
        harness.poll(1, 0...2)
        harness.machine.positionOutOfRange(0)
        #expect(harness.poll(0, 100...100) == [.skip], "stalled until recovered")
        #expect(harness.next() == .commit(lanes: [0]), "the batch closes before the interval")
        _ = harness.committed(lane: 0)
        #expect(harness.next() == .recover(partitions: [0]))
        let actions = harness.machine.partitionsRecovered([start(0, at: 500, lost: 100...499)])
        #expect(actions == [.gapRecorded(partition: 0, lost: 100...499), .seek(partition: 0, offset: 500)])
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 500), loaded(1, 3)]))
        #expect(harness.reserveAndNext(firstID: 2) == .poll(maxMessages: 10_000, timeoutMs: 100))
        #expect(harness.poll(0, 500...500) == [.startBatch(lane: 0, batchID: 2, expectedNextOffset: 500)])
        #expect(harness.machine.summary == Worker.Summary(batches: 1, events: 3, gaps: 1))
    }

    // MARK: - --available-now

    @Test("--available-now: partitions empty or already loaded finish at once, with nothing committed")
    func availableNowEmptyAndLoaded() {
        var harness = MachineHarness { $0.availableNow = true }
        #expect(harness.reserveAndNext() == .poll(maxMessages: 10_000, timeoutMs: 100), "nothing assigned yet")
        _ = harness.assign([start(0, at: 0), start(1, at: 10)], high: [0: 0, 1: 10])
        harness.expectFinish([loaded(0, 0), loaded(1, 10)], Worker.Summary())
    }

    @Test("--available-now: a partition with data finishes once its last batch commits")
    func availableNowWithData() {
        var harness = MachineHarness.polling([start(0, at: 0), start(1, at: 7)], high: [0: 3, 1: 10]) {
            $0.availableNow = true
        }
        harness.poll(0, 0...2)
        harness.machine.partitionEnded(0, at: 3)
        // Partition 1 holds only what is never delivered (transaction markers): its end counts.
        harness.machine.partitionEnded(1, at: 10)
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 100), "loaded only once committed")
        harness.nowMs = 1000
        #expect(harness.next() == .commit(lanes: [0]))
        _ = harness.committed(lane: 0)
        harness.expectFinish([loaded(0, 3), loaded(1, 7)], Worker.Summary(batches: 1, events: 3))
    }

    @Test("--available-now: a revoked partition no longer counts; with none left, the worker waits")
    func availableNowRevoked() {
        var harness = MachineHarness.polling([start(0, at: 0), start(1, at: 4)], high: [0: 5, 1: 4]) {
            $0.availableNow = true
        }
        #expect(harness.next() == .poll(maxMessages: 10_000, timeoutMs: 100), "partition 0 has 5 to load")
        _ = harness.machine.partitionsRevoked([0])
        harness.expectFinish([loaded(1, 4)], Worker.Summary())

        var alone = MachineHarness.polling([start(0, at: 5)], high: [0: 5]) { $0.availableNow = true }
        _ = alone.machine.partitionsRevoked([0])
        #expect(alone.next() == .poll(maxMessages: 10_000, timeoutMs: 100), "no partitions: not done")
    }

    @Test("--available-now: the target is the high watermark first seen, not a later one")
    func availableNowTargetIsTheFirstWatermark() {
        var harness = MachineHarness.polling([start(0, at: 2)], high: [0: 2]) { $0.availableNow = true }
        // Claimed again after a retry or a gap: more arrived meanwhile, the target stays.
        harness.machine.watermarksRead([PartitionWatermarks(partition: 0, low: 0, high: 9)])
        harness.expectFinish([loaded(0, 2)], Worker.Summary())
    }

    // MARK: - Stopping

    @Test("a stop during the commit's retries drops the batch and finishes")
    func stopDuringCommitRetry() {
        var harness = MachineHarness.polling([start(0, at: 0)])
        harness.poll(0, 0...3)
        harness.machine.stopRequested()
        #expect(harness.next() == .commit(lanes: [0]))
        #expect(harness.machine.batchAbandoned(lane: 0) == .batchDropped(lane: 0, .shutdown))
        #expect(harness.next() == .reportLag(loaded: [loaded(0, 0)]), "nothing loaded")
        #expect(harness.next() == .finish(Worker.Summary(droppedBatches: 1)))
    }

    @Test("a stop while reserving a batch id (database unreachable) opens no batch")
    func stopDuringReservationRetry() {
        var harness = MachineHarness(lanes: 2)
        _ = harness.assign([start(0, at: 0)])
        #expect(harness.next() == .reserveBatchIDs(lanes: [0, 1]))
        harness.machine.batchIDReserved(lane: 0, 1)
        harness.machine.stopRequested()
        harness.machine.batchIDReserved(lane: 1, nil)
        harness.expectFinish([loaded(0, 0)], Worker.Summary())
    }

    @Test("a stop between batches finishes without polling again")
    func stopBetweenBatches() {
        var harness = MachineHarness()
        _ = harness.reserveAndNext()
        harness.nowMs = 1000
        #expect(harness.next() == .reportLag(loaded: []))
        harness.machine.stopRequested()
        #expect(harness.next() == .finish(Worker.Summary()))
    }

    // MARK: - Messages

    @Test("messages below the position (already in the batch) and of partitions not ours are skipped")
    func staleAndForeignMessages() {
        var harness = MachineHarness.polling([start(1, at: 5)])
        #expect(harness.poll(0, 0...0) == [.skip])
        #expect(harness.poll(7, 0...0) == [.skip])
        #expect(
            harness.poll(1, 4...6) == [
                .skip, .startBatch(lane: 0, batchID: 1, expectedNextOffset: 5), .add(lane: 0, expectedNextOffset: 5),
            ])
        #expect(harness.poll(1, 5...6) == [.skip, .skip], "redelivered: never twice")
        #expect(harness.batches[0].messages == 2)
    }
}
