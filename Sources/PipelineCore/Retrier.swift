import Logging
import Synchronization

/// Runs a database operation until it succeeds, waiting with capped exponential
/// backoff and jitter between failures (DESIGN.md, step 5). Used on the worker's
/// thread and, during a parallel commit, on the lanes' threads at once.
final class Retrier: @unchecked Sendable {
    // @unchecked: the observers are not Sendable. They are only ever called under
    // `gate`: on a lane's thread while the worker thread waits for the lanes
    // (LaneSet.commitAll), else on the worker thread. One call at a time, in order.
    private let observers: [any CommitObserver]
    private let logger: Logger
    private let stopSignal: StopSignal
    private let gate = Mutex(())

    init(observers: [any CommitObserver], logger: Logger, stopSignal: StopSignal) {
        self.observers = observers
        self.logger = logger
        self.stopSignal = stopSignal
    }

    /// The result of `operation`, or nil if a stop is requested while it waits to
    /// try again; rethrows errors that retrying cannot help.
    func run<T>(_ what: RetriedOperation, batchID: Int64? = nil, _ operation: () throws -> T) throws -> T? {
        var backoff = Backoff()
        while true {
            do {
                return try operation()
            } catch let error as RetryClassifiable where !error.isWorthRetrying {
                throw error
            } catch {
                let delay = backoff.nextDelayMs()
                gate.withLock { _ in
                    for observer in observers { observer.operationRetrying(what, error: error) }
                }
                var metadata: Logger.Metadata = [
                    LogKeys.operation: "\(what.rawValue)", LogKeys.error: "\(error)",
                    LogKeys.attempt: "\(backoff.attempt)", LogKeys.delayMs: "\(delay)",
                ]
                if let batchID { metadata[LogKeys.batchID] = "\(batchID)" }
                logger.warning("database operation failed; retrying", metadata: metadata)
                var waited = 0
                while waited < delay {
                    if stopSignal.isStopRequested { return nil }
                    WallClock.sleep(milliseconds: min(50, delay - waited))
                    waited += 50
                }
            }
        }
    }
}
