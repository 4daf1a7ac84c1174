import PipelineCore
import Synchronization

/// What `/readyz` answers: ready when the worker owns at least one partition and
/// the database answered its latest check, made recently enough. Written by the
/// worker's thread (assignment) and the database probe; read by the HTTP listener.
public final class Readiness: Sendable {
    public struct Status: Sendable, Equatable {
        public var isReady: Bool
        /// One line per reason it is not ready, or a single line saying why it is.
        public var lines: [String]
    }

    private struct State {
        var assignedPartitions = 0
        /// nil until the first check; else the error, or "" when it answered.
        var databaseError: String?
        var databaseCheckedAtMs: Int64 = 0
    }

    private let state = Mutex(State())
    /// A check older than this counts as failed (the probe may be stuck connecting).
    private let staleAfterMs: Int64

    public init(staleAfterMs: Int64) {
        self.staleAfterMs = staleAfterMs
    }

    public func partitionsAssigned(_ count: Int) {
        state.withLock { $0.assignedPartitions = count }
    }

    /// The database probe's answer: nil when it answered, else what failed.
    public func databaseChecked(error: String?, atMonotonicMs now: Int64 = WallClock.monotonicMs()) {
        // libpq's messages span lines; /readyz answers one line per reason.
        let oneLine = error.map {
            $0.split(whereSeparator: \.isNewline).map { $0.drop(while: \.isWhitespace) }.joined(separator: " ")
        }
        state.withLock {
            $0.databaseError = oneLine ?? ""
            $0.databaseCheckedAtMs = now
        }
    }

    public func status(atMonotonicMs now: Int64 = WallClock.monotonicMs()) -> Status {
        let state = state.withLock { $0 }
        var problems: [String] = []
        if state.assignedPartitions == 0 {
            problems.append("no partitions assigned (joining the group, or more workers than partitions)")
        }
        let age = now - state.databaseCheckedAtMs
        switch state.databaseError {
        case nil:
            problems.append("database not checked yet")
        case let error? where !error.isEmpty:
            problems.append("database unreachable: \(error)")
        default:
            if age > staleAfterMs { problems.append("database check overdue: last answer \(age / 1000)s ago") }
        }
        guard problems.isEmpty else { return Status(isReady: false, lines: problems) }
        return Status(
            isReady: true,
            lines: ["\(state.assignedPartitions) partition(s) assigned; database answered \(age / 1000)s ago"])
    }
}
