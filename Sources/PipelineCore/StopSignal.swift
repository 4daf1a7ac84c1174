import Synchronization

/// Set by a signal handler (SIGINT/SIGTERM) on another thread, read by the
/// worker loop between polls.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)

    public init() {}

    public var isStopRequested: Bool { stopped.load(ordering: .acquiring) }

    public func requestStop() { stopped.store(true, ordering: .releasing) }
}
