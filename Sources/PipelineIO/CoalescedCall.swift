import Dispatch
import LibPQ
import PipelineCore
import Synchronization

/// One database call run on a thread and connection of its own whenever it is requested:
/// requests that arrive while one is queued coalesce (the next run covers them all), and with a
/// minimum interval a run starts at most that often. The aggregate refresher keeps two: the
/// rollups' refresh and the session merge (AggregateRefresher).
final class CoalescedCall: @unchecked Sendable {
    // @unchecked: `connection` is touched only on `queue`, a serial queue.
    private let databaseURL: String
    private let minimumIntervalMs: Int64
    private let queue: DispatchQueue
    private let queued = Atomic<Bool>(false)
    private let accepting = Atomic<Bool>(true)
    private let lastStartedMs = Atomic<Int64>(Int64.min / 2)
    private let body: (PQConnection) throws -> Void
    private let failed: (any Error) -> Void
    private var connection: PQConnection?

    /// `body` runs on the call's own connection; when it throws, the connection is dropped (the
    /// next run opens another) and `failed` is told.
    init(
        label: String, databaseURL: String, minimumIntervalMs: Int64,
        body: @escaping (PQConnection) throws -> Void, failed: @escaping (any Error) -> Void
    ) {
        self.databaseURL = databaseURL
        self.minimumIntervalMs = minimumIntervalMs
        self.queue = DispatchQueue(label: label)
        self.body = body
        self.failed = failed
    }

    /// Runs the call soon, unless a run is already queued or requests have stopped.
    func request() {
        guard accepting.load(ordering: .acquiring), !queued.exchange(true, ordering: .acquiringAndReleasing) else {
            return
        }
        let delayMs = lastStartedMs.load(ordering: .acquiring) + minimumIntervalMs - WallClock.monotonicMs()
        queue.asyncAfter(deadline: .now() + .milliseconds(Int(max(0, delayMs)))) {
            self.queued.store(false, ordering: .releasing)
            guard self.accepting.load(ordering: .acquiring) else { return }
            self.run(self.body)
        }
    }

    /// Ignores requests from now on, and drops a queued run that has not started: the caller
    /// does the call's work itself (AggregateRefresher.finish). A running call is not stopped.
    func stopRequests() {
        accepting.store(false, ordering: .releasing)
    }

    /// Waits for a running call, then runs `once` on the same connection, now.
    func runNow(_ once: (PQConnection) throws -> Void) {
        queue.sync { run(once) }
    }

    /// Runs `once` on the same connection after a running call, without waiting for it: `group`
    /// says when it is done (AggregateRefresher.finish runs one on each of two calls at once).
    func run(in group: DispatchGroup, _ once: @escaping @Sendable (PQConnection) throws -> Void) {
        queue.async(group: group) { self.run(once) }
    }

    private func run(_ once: (PQConnection) throws -> Void) {
        do {
            let connection = try self.connection ?? PQConnection(databaseURL)
            self.connection = connection
            lastStartedMs.store(WallClock.monotonicMs(), ordering: .releasing)
            try once(connection)
        } catch {
            connection = nil
            failed(error)
        }
    }
}
