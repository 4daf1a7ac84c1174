import EventContract
import Logging

/// The exactly-once micro-batch loop (DESIGN.md, "The exactly-once
/// protocol"): poll → validate → encode → one transaction that loads the
/// rows, advances the offsets (fenced) and writes the ledger row. Runs on
/// one thread; rebalance callbacks arrive on it too, from inside `poll`.
/// With several sinks, each cycle's messages are split by partition into
/// lanes (LaneSet) whose transactions commit in parallel while this thread
/// waits; the outcomes are then handled here, one lane at a time.
///
/// The decisions live in `WorkerStateMachine`; this class is the driver that
/// performs its actions: the IO (Kafka, PostgreSQL with retries), the batches'
/// buffers, the logs and the observers.
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

    private let source: any EventSource
    private let configuration: WorkerConfiguration
    private let logger: Logger
    private let stopSignal: StopSignal
    private let validator: EventValidator

    /// A batch per lane, each empty whenever nothing is in flight.
    private let lanes: LaneSet
    private let retrier: Retrier
    private var machine: WorkerStateMachine
    /// The ids of recently committed batches: which events of a cycle's batches are copies.
    private var recentClaims = RecentClaims()
    /// An error retrying cannot fix, met inside a rebalance callback (which
    /// cannot throw): `run` rethrows it after the poll that served the callback.
    private var callbackFailure: (any Error)?
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
            sinks: sinks, topic: configuration.topic,
            expectedBytes: EventBatch.rowBytesBound(
                maxBatchBytes: configuration.maxBatchBytes, maxBatchEvents: configuration.maxBatchEvents))
        self.retrier = Retrier(observers: observers, logger: logger, stopSignal: stopSignal)
        self.machine = WorkerStateMachine(configuration: configuration, laneCount: sinks.count)
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
        while true {
            if stopSignal.isStopRequested { machine.stopRequested() }
            switch machine.nextAction(nowMs: WallClock.monotonicMs()) {
            case .reserveBatchIDs(let indices):
                try reserveBatchIDs(indices)
            case .poll(let maxMessages, let timeoutMs):
                let nowMicros = WallClock.nowMicros()
                try source.poll(maxMessages: maxMessages, timeoutMs: timeoutMs) { event in
                    handle(event, nowMicros: nowMicros)
                }
                if let callbackFailure { throw callbackFailure }
            case .commit(let indices):
                try commitBatches(indices)
            case .reseek(let partitions):
                try reseek(partitions)
            case .recover(let partitions):
                guard let starts = try claim(partitions) else { break }
                for action in machine.partitionsRecovered(starts) { try perform(action) }
            case .reportLag(let loaded):
                reportLag(loaded)
            case .finish(let summary):
                return summary
            }
        }
    }

    // MARK: - Filling a batch

    private func handle(_ event: SourceEvent, nowMicros: Int64) {
        switch event {
        case .message(let message):
            switch machine.messagePolled(
                partition: message.partition, offset: message.offset, bytes: message.payload?.count ?? 0)
            {
            case .skip:
                return
            case .add(let index, let expectedNextOffset):
                lanes.lanes[index].batch.add(
                    message, expectedNextOffset: expectedNextOffset, validator: validator, nowMicros: nowMicros)
            case .startBatch(let index, let batchID, let expectedNextOffset):
                let lane = lanes.lanes[index]
                lane.batch.reset(batchID: batchID, startedAtMicros: nowMicros)
                lane.batch.add(
                    message, expectedNextOffset: expectedNextOffset, validator: validator, nowMicros: nowMicros)
            }
        case .endOfPartition(let partition, let offset):
            machine.partitionEnded(partition, at: offset)
        case .positionOutOfRange(let partition):
            machine.positionOutOfRange(partition)
        }
    }

    /// Gives each lane an id for its next batch (each through its own connection);
    /// stops early if a stop came while the database was unreachable.
    private func reserveBatchIDs(_ indices: [Int]) throws {
        for index in indices {
            let sink = lanes.lanes[index].sink
            let batchID = try retrier.run(.reserveBatchID) { try sink.reserveBatchID() }
            machine.batchIDReserved(lane: index, batchID)
            if batchID == nil { return }
        }
    }

    // MARK: - Committing

    /// Commits the lanes' batches in parallel, then handles the outcomes here, one by one.
    /// An error retrying cannot fix is rethrown after the other lanes' outcomes are handled.
    private func commitBatches(_ indices: [Int]) throws {
        defer { for observer in observers { observer.cycleEnded() } }
        let closedAtMicros = WallClock.nowMicros()
        var failure: (any Error)?
        // Which events are copies of others this worker loads or just loaded (ClaimHints).
        let cycle = indices.map { lanes.lanes[$0] }
        for (lane, hints) in zip(cycle, recentClaims.hints(for: cycle.map(\.batch))) { lane.batch.claimHints = hints }
        // While the lanes commit, this thread takes what Kafka has fetched for the next batches.
        let outcomes = lanes.commitAll(indices, retrier: retrier) { source.prefetch(timeoutMs: 2) }
        rememberClaims(of: outcomes)
        for (lane, result) in outcomes {
            switch result {
            case .success(.committed(var commit)):
                commit.commitDurationMicros = commit.committedAtMicros - closedAtMicros
                try perform(machine.batchCommitted(lane: lane.index, lane.batch, commit))
            case .success(.fenced(let partition)):
                try perform(machine.batchFenced(lane: lane.index, lane.batch, partition: partition))
            case .success(nil):
                try perform(machine.batchAbandoned(lane: lane.index))
            case .failure(let error):
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }

    /// Tells `recentClaims` which of the cycle's batches committed. The batches' copies it is
    /// handed are gone when this returns: a copy alive when a lane discards its batch would
    /// make the reset copy the buffers.
    private func rememberClaims(of outcomes: [(lane: Lane, result: Result<CommitOutcome?, any Error>)]) {
        let committed = outcomes.compactMap { lane, result -> (batch: EventBatch, commit: CommitSummary)? in
            guard case .success(.committed(let commit)) = result else { return nil }
            return (lane.batch, commit)
        }
        recentClaims.cycleEnded(
            committed: committed.filter { $0.commit.refusedRows == 0 }.map(\.batch),
            copiesLoaded: committed.contains { $0.commit.duplicates + $0.commit.conflicts > 0 })
    }

    /// After a fenced batch: start the partitions again from what etl.offsets says.
    private func reseek(_ partitions: [Int32]) throws {
        guard let stored = try retrier.run(.readOffsets, { try controlSink.storedOffsets(partitions) }) else {
            return
        }
        for action in machine.offsetsReread(stored) { try perform(action) }
    }

    // MARK: - Assignment

    public func partitionsAssigned(_ partitionNumbers: [Int32]) -> [Int64]? {
        do {
            guard let starts = try claim(partitionNumbers) else { return nil }
            for action in machine.partitionsAssigned(starts) { try perform(action) }
            logger.info(
                "partitions assigned",
                metadata: [
                    LogKeys.partitions: "\(starts.map { "\($0.partition)@\($0.nextOffset)" }.joined(separator: ","))"
                ])
            return starts.map(\.nextOffset)
        } catch {
            callbackFailure = error
            return nil
        }
    }

    /// Where each partition starts (etl.offsets, --start-from, or the log start after a gap).
    private func claim(_ partitionNumbers: [Int32]) throws -> [PartitionStart]? {
        try retrier.run(.claimPartitions) { () -> [PartitionStart] in
            let watermarks = try partitionNumbers.map { partition in
                let marks = try source.watermarks(partition: partition)
                return PartitionWatermarks(partition: partition, low: marks.low, high: marks.high)
            }
            machine.watermarksRead(watermarks)
            let starts = try controlSink.claimPartitions(watermarks, startFrom: configuration.startFrom)
            for (start, marks) in zip(starts, watermarks) where start.nextOffset > marks.high {
                logger.error(
                    "etl.offsets is past the end of the partition: was the topic deleted and recreated? Loading continues when the partition reaches it; to reload from the start, delete the partition's row from etl.offsets",
                    metadata: [
                        LogKeys.partition: "\(start.partition)", LogKeys.offset: "\(start.nextOffset)",
                        LogKeys.highWatermark: "\(marks.high)",
                    ])
            }
            return starts
        }
    }

    public func partitionsRevoked(_ partitionNumbers: [Int32]) {
        do {
            for action in machine.partitionsRevoked(partitionNumbers) { try perform(action) }
        } catch {
            callbackFailure = error
        }
        logger.info(
            "partitions revoked",
            metadata: [LogKeys.partitions: "\(partitionNumbers.map(String.init).joined(separator: ","))"])
    }

    // MARK: - Performing the machine's actions

    private func perform(_ action: WorkerStateMachine.Action) throws {
        switch action {
        case .batchCommitted(let index, let commit):
            // lane.batch throughout, never a copy: a copy would make discardBatch copy the buffers.
            let lane = lanes.lanes[index]
            defer { lane.discardBatch() }
            logCommitted(lane, commit)
            let ranges = lane.batch.partitionRanges
            source.reportLoaded(ranges.map { (partition: $0.partition, nextOffset: $0.lastOffset + 1) })
            for observer in observers { observer.batchCommitted(lane.batch, commit) }
        case .batchFenced(let index, let partition):
            let lane = lanes.lanes[index]
            defer { lane.discardBatch() }
            for observer in observers { observer.batchNotCommitted(lane.batch, .fenced) }
            logger.warning(
                "batch refused: another worker advanced the partition's offset; re-reading etl.offsets",
                metadata: [LogKeys.batchID: "\(lane.batch.batchID)", LogKeys.partition: "\(partition)"])
        case .batchDropped(let index, let reason):
            let lane = lanes.lanes[index]
            defer { lane.discardBatch() }
            switch reason {
            case .revoked:
                // The new owner starts from etl.offsets; nothing of this batch is written.
                logger.info(
                    "uncommitted batch dropped on revocation",
                    metadata: [LogKeys.batchID: "\(lane.batch.batchID)", LogKeys.events: "\(lane.batch.messages)"])
            case .shutdown:
                // Stopped while the database was unreachable: the next owner starts from etl.offsets.
                logger.warning(
                    "batch dropped at shutdown before it could commit",
                    metadata: [LogKeys.batchID: "\(lane.batch.batchID)"])
            }
            for observer in observers { observer.batchNotCommitted(lane.batch, .dropped) }
        case .gapRecorded(let partition, let lost):
            for observer in observers { observer.gapRecorded(partition: partition, lost: lost) }
            logger.error(
                "data lost before loading: Kafka deleted these offsets (retention) before the worker read them; recorded in etl.gaps",
                metadata: [
                    LogKeys.partition: "\(partition)", LogKeys.firstLostOffset: "\(lost.lowerBound)",
                    LogKeys.lastLostOffset: "\(lost.upperBound)",
                ])
        case .seek(let partition, let offset):
            try source.seek(partition: partition, to: offset)
        case .assignmentChanged(let owned):
            for observer in observers { observer.assignmentChanged(owned) }
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

    /// High watermark (librdkafka's cache, no request) minus the loaded position, per owned partition.
    private func reportLag(_ loaded: [WorkerStateMachine.LoadedPosition]) {
        guard !observers.isEmpty else { return }
        var lags: [PartitionLag] = []
        for position in loaded {
            guard let high = source.cachedHighWatermark(partition: position.partition) else { continue }
            lags.append(PartitionLag(partition: position.partition, messages: max(0, high - position.nextOffset)))
        }
        guard !lags.isEmpty else { return }
        for observer in observers { observer.lagMeasured(lags) }
    }
}
