import Dispatch
import LibPQ
import Logging
import PipelineCore

/// Asks PostgreSQL `SELECT 1` every `intervalMs` on a connection of its own,
/// on a queue of its own, and reports each answer: `/readyz` stays truthful
/// while the worker is idle and touches no database. Logs only changes.
public final class DatabaseProbe: @unchecked Sendable {
    // @unchecked: `connection` and `lastError` are touched only on `queue`, a serial queue.
    private let databaseURL: String
    private let intervalMs: Int
    private let logger: Logger
    private let report: @Sendable (_ error: String?) -> Void
    private let queue = DispatchQueue(label: "pipeline.database-probe")
    private let timer: any DispatchSourceTimer
    private var connection: PQConnection?
    private var lastError: String??

    /// `report` gets nil when the database answered, else what failed (no password in it: libpq's
    /// messages name host and port only).
    public init(
        databaseURL: String, intervalMs: Int, logger: Logger, report: @escaping @Sendable (_ error: String?) -> Void
    ) {
        self.databaseURL = databaseURL
        self.intervalMs = intervalMs
        self.logger = logger
        self.report = report
        timer = DispatchSource.makeTimerSource(queue: queue)
    }

    /// Checks at once, then every interval. A check stuck connecting delays the next ones
    /// (the timer coalesces), which the reader notices by the age of the last answer.
    public func start() {
        timer.schedule(deadline: .now(), repeating: .milliseconds(intervalMs), leeway: .milliseconds(intervalMs / 10))
        timer.setEventHandler { [weak self] in self?.check() }
        timer.resume()
    }

    public func stop() {
        timer.cancel()
        queue.sync { connection = nil }
    }

    private func check() {
        var failure: String?
        do {
            let connection = try self.connection ?? PQConnection(databaseURL)
            self.connection = connection
            try connection.execute("SELECT 1")
        } catch {
            connection = nil
            failure = "\(error)"
        }
        report(failure)
        guard lastError != .some(failure) else { return }
        if let failure {
            logger.warning("database unreachable; /readyz answers 503", metadata: [LogKeys.error: "\(failure)"])
        } else if lastError != nil {
            logger.info("database reachable again; /readyz answers 200 when partitions are assigned")
        }
        lastError = .some(failure)
    }
}
