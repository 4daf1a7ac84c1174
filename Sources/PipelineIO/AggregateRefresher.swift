import Dispatch
import LibPQ
import Logging
import PipelineCore
import Synchronization

/// Runs `etl.refresh_aggregates()` after batches commit, on its own thread and
/// connection, so a slow refresh never delays loading. Requests that arrive
/// while one is queued coalesce: the next run covers them all. With a
/// `minimumIntervalMs`, a refresh starts at most that often (the batches
/// committed meanwhile wait for it); `nil` leaves every refresh to `finish()`.
public final class AggregateRefresher: CommitObserver, @unchecked Sendable {
    // @unchecked: `connection` is touched only on `queue`, a serial queue.
    private let databaseURL: String
    private let logger: Logger
    private let minimumIntervalMs: Int64?
    private let queue = DispatchQueue(label: "pipeline.aggregate-refresh")
    private let queued = Atomic<Bool>(false)
    private let lastStartedMs = Atomic<Int64>(Int64.min / 2)
    private var connection: PQConnection?

    public init(databaseURL: String, minimumIntervalMs: Int64? = 0, logger: Logger) {
        self.databaseURL = databaseURL
        self.minimumIntervalMs = minimumIntervalMs
        self.logger = logger
    }

    public func batchCommitted(_ batch: EventBatch) {
        guard let minimumIntervalMs, !queued.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Requests arriving until it runs coalesce into this one.
        let delayMs = lastStartedMs.load(ordering: .acquiring) + minimumIntervalMs - WallClock.monotonicMs()
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(max(0, delayMs)))) {
            self.queued.store(false, ordering: .releasing)
            self.refreshOnce()
        }
    }

    /// Waits for a running refresh, then runs one more that waits for any other
    /// worker's refresh to finish first: every view reflects every committed batch.
    public func finish() {
        queue.sync { refreshOnce(waitForOtherRefresh: true) }
    }

    private func refreshOnce(waitForOtherRefresh: Bool = false) {
        do {
            let connection = try self.connection ?? PQConnection(databaseURL)
            self.connection = connection
            let started = WallClock.monotonicMs()
            lastStartedMs.store(started, ordering: .releasing)
            // Without waiting, a refresh another worker is running makes this one return 0 at once.
            let buckets =
                try connection.execute(
                    "SELECT etl.refresh_aggregates(p_wait => $1)", [waitForOtherRefresh ? "true" : "false"]
                )
                .int64(0, 0) ?? 0
            logger.debug(
                "aggregates refreshed",
                metadata: ["refresh.buckets": "\(buckets)", LogKeys.durationMs: "\(WallClock.monotonicMs() - started)"])
        } catch {
            // The dirty buckets stay recorded; the next batch (or cron's backstop) refreshes them.
            connection = nil
            logger.warning(
                "aggregate refresh failed; it runs again after the next batch", metadata: [LogKeys.error: "\(error)"])
        }
    }
}
