import Dispatch
import LibPQ
import Logging
import PipelineCore
import Synchronization

/// Keeps the aggregates up to date while the worker loads, on threads and connections of its
/// own, so a slow refresh never delays loading. After batches commit, `etl.refresh_rollups()`
/// adds them to the declared rollups (how soon a batch shows in the per-minute views); after
/// that, `etl.merge_pending_sessions()` merges the session pieces it released into the session
/// windows, at most every `sessionIntervalMs`: a merge costs about one row rewrite per user it
/// touches, so merging several batches' pieces at once rewrites a returning user's session once
/// (issue 13, BENCHMARKS.md). Requests that arrive while one is queued coalesce. With a
/// `minimumIntervalMs`, a rollups' refresh starts at most that often; `nil` leaves everything
/// to `finish()`.
public final class AggregateRefresher: CommitObserver, Sendable {
    /// Session merges start at most this often by default (`sessionIntervalMs`).
    public static let defaultSessionIntervalMs: Int64 = 2_000

    private let logger: Logger
    private let refreshesWhileLoading: Bool
    private let rollups: CoalescedCall
    private let sessions: CoalescedCall
    private let lag: SessionLag

    /// `sessionLagMeasured` is told, from the refresher's threads, how far the session windows
    /// may trail this worker's batches (`SessionLag`), after each commit and each merge.
    public init(
        databaseURL: String, minimumIntervalMs: Int64? = 0,
        sessionIntervalMs: Int64 = AggregateRefresher.defaultSessionIntervalMs, logger: Logger,
        sessionLagMeasured: @escaping @Sendable (Double) -> Void = { _ in }
    ) {
        self.logger = logger
        refreshesWhileLoading = minimumIntervalMs != nil
        let lag = SessionLag(report: sessionLagMeasured)
        self.lag = lag
        let sessions = CoalescedCall(
            label: "pipeline.session-merge", databaseURL: databaseURL,
            minimumIntervalMs: max(sessionIntervalMs, minimumIntervalMs ?? 0),
            body: { connection in
                let started = WallClock.monotonicMs()
                let released = lag.releasedUpToMs
                // Without waiting: a merge another worker is running leaves these pieces to it.
                let batches = try connection.execute("SELECT etl.merge_pending_sessions(p_wait => false)").int64(0, 0)
                lag.merged(upToMs: released)
                Self.logMerged(batches: batches ?? 0, part: nil, startedMs: started, logger)
            },
            failed: { error in
                // The pieces stay in etl.batch_session_pieces; the next merge takes them.
                logger.warning(
                    "session merge failed; it runs again after the next refresh", metadata: [LogKeys.error: "\(error)"])
            })
        self.sessions = sessions
        rollups = CoalescedCall(
            label: "pipeline.aggregate-refresh", databaseURL: databaseURL, minimumIntervalMs: minimumIntervalMs ?? 0,
            body: { connection in
                let started = WallClock.monotonicMs()
                // Without waiting, a refresh another worker is running makes this one return 0 at once.
                let buckets = try connection.execute("SELECT etl.refresh_rollups(p_wait => false)").int64(0, 0) ?? 0
                lag.released(upToMs: started)
                Self.logRefreshed(buckets: buckets, startedMs: started, logger)
                sessions.request()
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
        guard refreshesWhileLoading else { return }
        rollups.request()
    }

    /// Waits for a running refresh and session merge, then does what `etl.refresh_aggregates`
    /// does, waiting for any other worker's refresh and merge to finish first: every view
    /// reflects every committed batch. The rollups' refresh first (it releases the last batches'
    /// pieces), then the session merge in its two parts at once, one on each connection
    /// (`etl.session_merge_part`: the users split by a hash): at the end of a load both cores
    /// are free, and the merge is most of what is left. A merge requested but not yet started
    /// is dropped, not waited for: run on one connection, it held the parts' locks for as long
    /// as it took (1.6 s of a 2.6 s final refresh on the benchmark's high-cardinality data).
    public func finish() {
        sessions.stopRequests()
        sessions.waitForRunning()
        let started = WallClock.monotonicMs()
        rollups.runNow { [lag, logger] connection in
            let buckets = try connection.execute("SELECT etl.refresh_rollups(p_wait => true)").int64(0, 0) ?? 0
            lag.released(upToMs: started)
            Self.logRefreshed(buckets: buckets, startedMs: started, logger)
        }
        let parts = DispatchGroup()
        for (part, call) in [sessions, rollups].enumerated() {
            call.run(in: parts) { [logger] connection in
                let batches = try connection.execute(
                    "SELECT etl.merge_pending_sessions(p_wait => true, p_part => $1)", [String(part)]
                ).int64(0, 0)
                Self.logMerged(batches: batches ?? 0, part: part, startedMs: started, logger)
            }
        }
        parts.wait()
        lag.merged(upToMs: started)
    }

    private static func logMerged(batches: Int64, part: Int?, startedMs: Int64, _ logger: Logger) {
        logger.debug(
            "session windows merged",
            metadata: [
                LogKeys.batches: "\(batches)", "merge.part": "\(part.map(String.init) ?? "both")",
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
/// before a rollups' refresh began is released by it (its pieces may be merged), and a merge
/// takes every piece released before it began. So, when a batch committed after `mergedUpToMs`,
/// they trail by at most now − `mergedUpToMs`; otherwise by nothing. Monotonic milliseconds.
final class SessionLag: Sendable {
    private let lastCommitMs = Atomic<Int64>(Int64.min)
    private let releasedUpTo = Atomic<Int64>(Int64.min)
    private let mergedUpTo: Atomic<Int64>
    private let report: @Sendable (Double) -> Void

    init(report: @escaping @Sendable (Double) -> Void) {
        self.report = report
        // Nothing of this worker's waited before it started.
        mergedUpTo = Atomic(WallClock.monotonicMs())
    }

    var releasedUpToMs: Int64 { releasedUpTo.load(ordering: .acquiring) }

    func committed() {
        lastCommitMs.store(WallClock.monotonicMs(), ordering: .releasing)
        measure()
    }

    func released(upToMs: Int64) { releasedUpTo.store(upToMs, ordering: .releasing) }

    func merged(upToMs: Int64) {
        mergedUpTo.store(max(mergedUpTo.load(ordering: .acquiring), upToMs), ordering: .releasing)
        measure()
    }

    private func measure() {
        let merged = mergedUpTo.load(ordering: .acquiring)
        let waiting = lastCommitMs.load(ordering: .acquiring) >= merged
        report(waiting ? Double(WallClock.monotonicMs() - merged) / 1000 : 0)
    }
}
