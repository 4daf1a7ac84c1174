import Dispatch
import LibPQ
import Logging
import PipelineCore
import Synchronization

/// Keeps the aggregates up to date while the worker loads, on threads and connections of its own,
/// so a slow refresh never delays loading. After each cycle's batches commit,
/// `etl.refresh_rollups()` adds them to the declared rollups (how soon a batch shows in the
/// per-minute views); after that, `etl.merge_pending_sessions()` merges the session pieces it
/// released into the session windows, at most every `sessionIntervalMs`: a merge costs about one
/// row rewrite per user it touches, so merging several batches' pieces at once rewrites a returning
/// user's session once (issue 13, BENCHMARKS.md). The merge runs in its two parts
/// (`etl.session_merge_part`: the users split by a hash), each on a connection of its own, one
/// after the other (a refresh asks for the first part's, which asks for the second's when done):
/// while a stream flows, one merge at a time takes a core from the lanes; when a load ends, what is
/// left of a merge then running is half of one, and the other part merges beside it. Requests that
/// arrive while one is queued coalesce. With a `minimumIntervalMs`, a rollups' refresh starts at
/// most that often; `nil` leaves everything to `finish()`.
public final class AggregateRefresher: CommitObserver, Sendable {
    /// Session merges start at most this often by default (`sessionIntervalMs`).
    public static let defaultSessionIntervalMs: Int64 = 2_000

    private let logger: Logger
    private let refreshesWhileLoading: Bool
    private let rollups: CoalescedCall
    /// The session merge's parts, by `etl.session_merge_part` (0 and 1).
    private let sessionParts: [CoalescedCall]
    private let lag: SessionLag
    /// A batch committed since the last `cycleEnded()`.
    private let committedThisCycle = Atomic<Bool>(false)

    /// `sessionLagMeasured` is told, from the refresher's threads, how far the session windows
    /// may trail this worker's batches (`SessionLag`), after each commit and each merge.
    public init(
        databaseURL: String, minimumIntervalMs: Int64? = 0,
        sessionIntervalMs: Int64 = AggregateRefresher.defaultSessionIntervalMs, logger: Logger,
        sessionLagMeasured: @escaping @Sendable (Double) -> Void = { _ in }
    ) {
        self.logger = logger
        refreshesWhileLoading = minimumIntervalMs != nil
        let lag = SessionLag(parts: Self.sessionPartCount, report: sessionLagMeasured)
        self.lag = lag
        // Built from the last part back: each part's merge, when done, asks for the next one's.
        var sessionParts: [CoalescedCall] = []
        for part in (0..<Self.sessionPartCount).reversed() {
            let next = sessionParts.first
            let call = CoalescedCall(
                label: "pipeline.session-merge.\(part)", databaseURL: databaseURL,
                minimumIntervalMs: max(sessionIntervalMs, minimumIntervalMs ?? 0),
                body: { connection in
                    defer { next?.request() }
                    let started = WallClock.monotonicMs()
                    let released = lag.releasedUpToMs
                    // Without waiting: a merge of this part another worker is running leaves
                    // these pieces to it.
                    let batches = try connection.execute(
                        "SELECT etl.merge_pending_sessions(p_wait => false, p_part => $1)", [String(part)]
                    ).int64(0, 0)
                    lag.merged(upToMs: released, part: part)
                    Self.logMerged(batches: batches ?? 0, part: part, startedMs: started, logger)
                },
                failed: { error in
                    // The pieces stay in etl.batch_session_pieces; the next merge takes them.
                    logger.warning(
                        "session merge failed; it runs again after the next refresh",
                        metadata: [LogKeys.error: "\(error)"])
                })
            sessionParts.insert(call, at: 0)
        }
        self.sessionParts = sessionParts
        rollups = CoalescedCall(
            label: "pipeline.aggregate-refresh", databaseURL: databaseURL, minimumIntervalMs: minimumIntervalMs ?? 0,
            body: { connection in
                let started = WallClock.monotonicMs()
                // Without waiting, a refresh another worker is running makes this one return 0 at once.
                let buckets = try connection.execute("SELECT etl.refresh_rollups(p_wait => false)").int64(0, 0) ?? 0
                lag.released(upToMs: started)
                Self.logRefreshed(buckets: buckets, startedMs: started, logger)
                sessionParts.first?.request()
            },
            failed: { error in
                // The dirty buckets stay recorded; the next batch (or cron's backstop) refreshes them.
                logger.warning(
                    "aggregate refresh failed; it runs again after the next batch",
                    metadata: [LogKeys.error: "\(error)"])
            })
    }

    public func batchCommitted(_ batch: EventBatch) {
        lag.committed()
        committedThisCycle.store(true, ordering: .releasing)
    }

    /// One refresh for the cycle's batches. Requested per batch, the second lane's request came
    /// while the refresh the first had started was taking both batches' marks, and an empty
    /// refresh followed in every cycle (BENCHMARKS.md, twelfth session).
    public func cycleEnded() {
        guard committedThisCycle.exchange(false, ordering: .acquiringAndReleasing), refreshesWhileLoading else {
            return
        }
        rollups.request()
    }

    /// Does what `etl.refresh_aggregates` does, after this worker's running refresh and merges,
    /// waiting for any other worker's refresh and merge to finish first: every view
    /// reflects every committed batch. The rollups' refresh first (it releases the last batches'
    /// pieces; a session merge running meanwhile goes on), then the session merge's two parts at
    /// once, each on its own connection once that part's running merge is done: at the end of a
    /// load both cores are free, and the merge is most of what is left. A merge requested but
    /// not yet started is dropped (it would merge less than the final one).
    public func finish() {
        for part in sessionParts { part.stopRequests() }
        let started = WallClock.monotonicMs()
        rollups.runNow { [lag, logger] connection in
            let buckets = try connection.execute("SELECT etl.refresh_rollups(p_wait => true)").int64(0, 0) ?? 0
            lag.released(upToMs: started)
            Self.logRefreshed(buckets: buckets, startedMs: started, logger)
        }
        let parts = DispatchGroup()
        for (part, call) in sessionParts.enumerated() {
            call.run(in: parts) { [lag, logger] connection in
                let batches = try connection.execute(
                    "SELECT etl.merge_pending_sessions(p_wait => true, p_part => $1)", [String(part)]
                ).int64(0, 0)
                lag.merged(upToMs: started, part: part)
                Self.logMerged(batches: batches ?? 0, part: part, startedMs: started, logger)
            }
        }
        parts.wait()
    }

    /// `etl.session_merge_part` splits the users in two.
    private static let sessionPartCount = 2

    private static func logMerged(batches: Int64, part: Int, startedMs: Int64, _ logger: Logger) {
        logger.debug(
            "session windows merged",
            metadata: [
                LogKeys.batches: "\(batches)", "merge.part": "\(part)",
                LogKeys.durationMs: "\(WallClock.monotonicMs() - startedMs)",
            ])
    }

    /// One line per refresh at debug (scripts/bench counts them and reports the longest).
    private static func logRefreshed(buckets: Int64, startedMs: Int64, _ logger: Logger) {
        logger.debug(
            "aggregates refreshed",
            metadata: ["refresh.buckets": "\(buckets)", LogKeys.durationMs: "\(WallClock.monotonicMs() - startedMs)"])
    }
}

/// How far the session windows may trail the batches this worker committed: a batch committed
/// before a rollups' refresh began is released by it (its pieces may be merged), and a merge of
/// a part takes every piece of that part released before it began. So, when a batch committed
/// after the earlier of the parts' `mergedUpTo`, they trail by at most now − that; otherwise by
/// nothing. Monotonic milliseconds.
final class SessionLag: Sendable {
    private let lastCommitMs = Atomic<Int64>(Int64.min)
    private let releasedUpTo = Atomic<Int64>(Int64.min)
    private let mergedUpTo: Mutex<[Int64]>
    private let report: @Sendable (Double) -> Void

    init(parts: Int, report: @escaping @Sendable (Double) -> Void) {
        self.report = report
        // Nothing of this worker's waited before it started.
        mergedUpTo = Mutex(Array(repeating: WallClock.monotonicMs(), count: parts))
    }

    var releasedUpToMs: Int64 { releasedUpTo.load(ordering: .acquiring) }

    func committed() {
        lastCommitMs.store(WallClock.monotonicMs(), ordering: .releasing)
        measure()
    }

    func released(upToMs: Int64) { releasedUpTo.store(upToMs, ordering: .releasing) }

    func merged(upToMs: Int64, part: Int) {
        mergedUpTo.withLock { $0[part] = max($0[part], upToMs) }
        measure()
    }

    private func measure() {
        let merged = mergedUpTo.withLock { $0.min() ?? Int64.max }
        let waiting = lastCommitMs.load(ordering: .acquiring) >= merged
        report(waiting ? Double(WallClock.monotonicMs() - merged) / 1000 : 0)
    }
}
