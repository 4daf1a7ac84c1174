import EventContract
import Logging

/// The exactly-once micro-batch loop (DESIGN.md, "The exactly-once
/// protocol"): poll → validate → encode → one transaction that loads the
/// rows, advances the offsets (fenced) and writes the ledger row. Runs on
/// one thread; rebalance callbacks arrive on it too, from inside `poll`.
/// With several sinks, each cycle's messages are split by partition into
/// lanes (LaneSet) whose transactions commit in parallel while this thread
/// waits; the outcomes are then handled here, one lane at a time.
public final class Worker: AssignmentListener {
    /// What one run did, for the command's final line and for tests.
    public struct Summary: Sendable, Equatable {
        public var batches = 0
        public var events = 0
        public var rejected = 0
        public var duplicates = 0
        public var conflicts = 0
        public var fencedBatches = 0
        public var droppedBatches = 0
        public var gaps = 0
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
    }

    private let source: any EventSource
    private let configuration: WorkerConfiguration
    private let logger: Logger
    private let stopSignal: StopSignal
    private let validator: EventValidator

    /// A batch per lane, each empty whenever nothing is in flight.
    private let lanes: LaneSet
    private let retrier: Retrier
    /// Indexed by partition number; nil = not assigned to us.
    private var partitions: [PartitionState?] = []
    /// --available-now: the high watermark each partition had when first assigned.
    private var availableNowTargets: [Int32: Int64] = [:]
    private var summary = Summary()
    /// An error retrying cannot fix, met inside a rebalance callback (which
    /// cannot throw): `run` rethrows it after the poll that served the callback.
    private var callbackFailure: Error?
    private let observers: [any CommitObserver]

    /// One lane per sink (each its own connection): a cycle's batches commit in parallel.
    public init(
        source: any EventSource, sinks: [any EventSink], configuration: WorkerConfiguration, stopSignal: StopSignal,
        logger: Logger, observers: [any CommitObserver] = []
    ) {
        self.observers = observers
        self.source = source
        self.configuration = configuration
        self.stopSignal = stopSignal
        self.logger = logger
        self.validator = EventValidator(limits: configuration.limits)
        self.lanes = LaneSet(
            sinks: sinks, topic: configuration.topic, expectedBytes: configuration.maxBatchBytes / 4)
        self.retrier = Retrier(observers: observers, logger: logger, stopSignal: stopSignal)
    }

    public convenience init(
        source: any EventSource, sink: any EventSink, configuration: WorkerConfiguration, stopSignal: StopSignal,
        logger: Logger, observers: [any CommitObserver] = []
    ) {
        self.init(
            source: source, sinks: [sink], configuration: configuration, stopSignal: stopSignal, logger: logger,
            observers: observers)
    }

    /// Claims, offsets and re-reads go through the first lane's sink, on this thread, between commits.
    private var controlSink: any EventSink { lanes.lanes[0].sink }

    /// Runs until stopped (or, with --available-now, until caught up), then
    /// commits or drops the in-flight batch and leaves the group.
    public func run() throws -> Summary {
        source.assignmentListener = self
        defer { source.close() }
        try source.start()
        while !stopSignal.isStopRequested {
            try fillBatch()
            if !lanes.isEmpty { try commitBatches() }
            try recoverOutOfRangePartitions()
            reportLag()
            if configuration.availableNow && isCaughtUp() { break }
        }
        return summary
    }

    // MARK: - Filling a batch

    /// Polls until the interval passes or a size limit is reached, counted over all lanes.
    private func fillBatch() throws {
        guard try reserveBatchIDs() else { return }
        let deadline = WallClock.monotonicMs() + Int64(configuration.intervalMs)
        while !stopSignal.isStopRequested {
            let remainingMs = deadline - WallClock.monotonicMs()
            if remainingMs <= 0 { break }
            let messages = lanes.messages
            if messages >= configuration.maxBatchEvents || lanes.bytes >= configuration.maxBatchBytes { break }
            let room = configuration.maxBatchEvents - messages
            let nowMicros = WallClock.nowMicros()
            try source.poll(
                maxMessages: min(configuration.pollBatchSize, room), timeoutMs: Int32(min(remainingMs, 100))
            ) {
                event in
                handle(event, nowMicros: nowMicros)
            }
            if let callbackFailure { throw callbackFailure }
            if partitions.contains(where: { $0?.outOfRange == true }) { break }
            if configuration.availableNow && isCaughtUp() { break }
        }
    }

    private func handle(_ event: SourceEvent, nowMicros: Int64) {
        switch event {
        case .message(let message):
            let index = Int(message.partition)
            guard partitions.indices.contains(index), let state = partitions[index], !state.outOfRange,
                message.offset >= state.position
            else { return }  // not ours (any more), or already in this batch: never twice
            let lane = lanes.lane(for: message.partition)
            if lane.batch.isEmpty { lane.batch.reset(batchID: lane.reservedBatchID!, startedAtMicros: nowMicros) }
            lane.batch.add(message, expectedNextOffset: state.committedNext, validator: validator, nowMicros: nowMicros)
            partitions[index]!.position = message.offset + 1
        case .endOfPartition(let partition, let offset):
            let index = Int(partition)
            guard partitions.indices.contains(index), partitions[index] != nil else { return }
            partitions[index]!.endReached = offset
        case .positionOutOfRange(let partition):
            let index = Int(partition)
            guard partitions.indices.contains(index), partitions[index] != nil else { return }
            partitions[index]!.outOfRange = true
        }
    }

    /// Gives every lane an id for its next batch (each through its own connection);
    /// false if a stop came while the database was unreachable.
    private func reserveBatchIDs() throws -> Bool {
        for lane in lanes.lanes where lane.reservedBatchID == nil {
            lane.reservedBatchID = try retrier.run(.reserveBatchID) { try lane.sink.reserveBatchID() }
            if lane.reservedBatchID == nil { return false }
        }
        return true
    }

    // MARK: - Committing

    /// Commits every lane's batch in parallel, then handles the outcomes here, one by one.
    /// An error retrying cannot fix is rethrown after the other lanes' outcomes are handled.
    private func commitBatches() throws {
        let closedAtMicros = WallClock.nowMicros()
        var failure: (any Error)?
        for (lane, result) in lanes.commitAll(retrier: retrier) {
            switch result {
            case .success(let outcome): try settle(lane, outcome, closedAtMicros: closedAtMicros)
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    private func settle(_ lane: Lane, _ outcome: CommitOutcome?, closedAtMicros: Int64) throws {
        // lane.batch throughout, never a copy: a copy would make discardBatch copy the buffers.
        defer { lane.discardBatch() }
        guard let outcome else {
            // Stopped while the database was unreachable: the next owner starts from etl.offsets.
            logger.warning(
                "batch dropped at shutdown before it could commit", metadata: [LogKeys.batchID: "\(lane.batch.batchID)"]
            )
            summary.droppedBatches += 1
            for observer in observers { observer.batchNotCommitted(lane.batch, .dropped) }
            return
        }
        let ranges = lane.batch.partitionRanges
        switch outcome {
        case .committed(var commit):
            commit.commitDurationMicros = commit.committedAtMicros - closedAtMicros
            for range in ranges { partitions[Int(range.partition)]?.committedNext = range.lastOffset + 1 }
            logCommitted(lane, commit)
            summary.batches += 1
            // Rows PostgreSQL refused at COPY were dead-lettered: rejected, not loaded.
            summary.events += commit.newEvents(in: lane.batch)
            summary.rejected += commit.rejected(in: lane.batch)
            summary.duplicates += commit.duplicates
            summary.conflicts += commit.conflicts
            source.reportLoaded(ranges.map { (partition: $0.partition, nextOffset: $0.lastOffset + 1) })
            for observer in observers { observer.batchCommitted(lane.batch, commit) }
            lane.reservedBatchID = nil
        case .fenced(let partition):
            summary.fencedBatches += 1
            for observer in observers { observer.batchNotCommitted(lane.batch, .fenced) }
            logger.warning(
                "batch refused: another worker advanced the partition's offset; re-reading etl.offsets",
                metadata: [LogKeys.batchID: "\(lane.batch.batchID)", LogKeys.partition: "\(partition)"])
            try reseek(ranges.map(\.partition))
        }
    }

    private func logCommitted(_ lane: Lane, _ commit: CommitSummary) {
        let nowMicros = WallClock.nowMicros()
        var metadata: Logger.Metadata = [
            LogKeys.batchID: "\(lane.batch.batchID)", LogKeys.events: "\(commit.newEvents(in: lane.batch))",
            LogKeys.rejected: "\(commit.rejected(in: lane.batch))", LogKeys.bytes: "\(lane.batch.bytes)",
            LogKeys.duplicates: "\(commit.duplicates)", LogKeys.conflicts: "\(commit.conflicts)",
            LogKeys.partitions: "\(lane.batch.partitionRanges.count)",
            LogKeys.durationMs: "\((nowMicros - lane.batch.startedAtMicros) / 1000)",
        ]
        if let latency = lane.batch.latencySummary(commitMicros: nowMicros) {
            metadata[LogKeys.latencyP50Ms] = "\(Int(latency.p50Ms))"
            metadata[LogKeys.latencyP95Ms] = "\(Int(latency.p95Ms))"
        }
        logger.info("batch committed", metadata: metadata)
    }

    /// After a fenced batch: start the partitions again from what etl.offsets says.
    private func reseek(_ partitionNumbers: [Int32]) throws {
        guard let stored = try retrier.run(.readOffsets, { try controlSink.storedOffsets(partitionNumbers) }) else {
            return
        }
        for partition in partitionNumbers {
            guard let next = stored[partition], partitions[Int(partition)] != nil else { continue }
            partitions[Int(partition)]!.committedNext = next
            partitions[Int(partition)]!.position = next
            try source.seek(partition: partition, to: next)
        }
    }

    // MARK: - Assignment

    public func partitionsAssigned(_ partitionNumbers: [Int32]) -> [Int64]? {
        let starts: [PartitionStart]?
        do {
            starts = try claim(partitionNumbers)
        } catch {
            callbackFailure = error
            return nil
        }
        guard let starts else { return nil }
        for start in starts {
            let index = Int(start.partition)
            while partitions.count <= index { partitions.append(nil) }
            partitions[index] = PartitionState(committedNext: start.nextOffset, position: start.nextOffset)
            if let lost = start.lostRange { logGap(partition: start.partition, lost) }
        }
        reportAssignment()
        logger.info(
            "partitions assigned",
            metadata: [
                LogKeys.partitions: "\(starts.map { "\($0.partition)@\($0.nextOffset)" }.joined(separator: ","))"
            ])
        return starts.map(\.nextOffset)
    }

    /// Where each partition starts (etl.offsets, --start-from, or the log start after a gap).
    private func claim(_ partitionNumbers: [Int32]) throws -> [PartitionStart]? {
        try retrier.run(.claimPartitions) { () -> [PartitionStart] in
            let watermarks = try partitionNumbers.map { partition in
                let marks = try source.watermarks(partition: partition)
                return PartitionWatermarks(partition: partition, low: marks.low, high: marks.high)
            }
            if configuration.availableNow {
                for marks in watermarks where availableNowTargets[marks.partition] == nil {
                    availableNowTargets[marks.partition] = marks.high
                }
            }
            let starts = try controlSink.claimPartitions(watermarks, startFrom: configuration.startFrom)
            for (start, marks) in zip(starts, watermarks) where start.nextOffset > marks.high {
                logger.error(
                    "etl.offsets is past the end of the partition: was the topic deleted and recreated? Loading continues when the partition reaches it; to reload from the start, delete the partition's row from etl.offsets",
                    metadata: [
                        LogKeys.partition: "\(start.partition)", LogKeys.offset: "\(start.nextOffset)",
                        "kafka.high_watermark": "\(marks.high)",
                    ])
            }
            return starts
        }
    }

    public func partitionsRevoked(_ partitionNumbers: [Int32]) {
        for lane in lanes.lanes where !lane.batch.isEmpty {
            // The new owner starts from etl.offsets; nothing of this batch is written.
            logger.info(
                "uncommitted batch dropped on revocation",
                metadata: [LogKeys.batchID: "\(lane.batch.batchID)", LogKeys.events: "\(lane.batch.messages)"])
            summary.droppedBatches += 1
            for observer in observers { observer.batchNotCommitted(lane.batch, .dropped) }
            lane.discardBatch()
        }
        for partition in partitionNumbers where Int(partition) < partitions.count {
            partitions[Int(partition)] = nil
        }
        reportAssignment()
        logger.info(
            "partitions revoked",
            metadata: [LogKeys.partitions: "\(partitionNumbers.map(String.init).joined(separator: ","))"])
    }

    // MARK: - Gaps and --available-now

    /// Partitions whose fetch position fell outside the log: record the gap and move on.
    private func recoverOutOfRangePartitions() throws {
        let stalled = partitions.indices.filter { partitions[$0]?.outOfRange == true }.map { Int32($0) }
        guard !stalled.isEmpty else { return }
        let starts = try claim(stalled)
        guard let starts else { return }
        for start in starts {
            if let lost = start.lostRange { logGap(partition: start.partition, lost) }
            partitions[Int(start.partition)] = PartitionState(
                committedNext: start.nextOffset, position: start.nextOffset)
            try source.seek(partition: start.partition, to: start.nextOffset)
        }
    }

    private func logGap(partition: Int32, _ lost: ClosedRange<Int64>) {
        summary.gaps += 1
        for observer in observers { observer.gapRecorded(partition: partition, lost: lost) }
        logger.error(
            "data lost before loading: Kafka deleted these offsets (retention) before the worker read them; recorded in etl.gaps",
            metadata: [
                LogKeys.partition: "\(partition)", LogKeys.firstLostOffset: "\(lost.lowerBound)",
                LogKeys.lastLostOffset: "\(lost.upperBound)",
            ])
    }

    /// Every assigned partition is loaded up to where it ended when first assigned.
    private func isCaughtUp() -> Bool {
        guard lanes.isEmpty else { return false }
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

    // MARK: - Reporting to observers

    private func reportAssignment() {
        guard !observers.isEmpty else { return }
        let owned = partitions.indices.filter { partitions[$0] != nil }.map { Int32($0) }
        for observer in observers { observer.assignmentChanged(owned) }
    }

    /// High watermark (librdkafka's cache, no request) minus the loaded position, per owned partition.
    private func reportLag() {
        guard !observers.isEmpty else { return }
        var lags: [PartitionLag] = []
        for (index, state) in partitions.enumerated() {
            guard let state, let high = source.cachedHighWatermark(partition: Int32(index)) else { continue }
            lags.append(PartitionLag(partition: Int32(index), messages: max(0, high - state.committedNext)))
        }
        guard !lags.isEmpty else { return }
        for observer in observers { observer.lagMeasured(lags) }
    }
}
