import Foundation
import Logging
import PipelineCore

/// SIGINT and SIGTERM request a graceful stop: the worker finishes or drops
/// its batch and leaves the group. A second signal exits at once.
///
/// A thread of our own waits in `sigwait` with both signals blocked, instead
/// of libdispatch's signal sources. libdispatch on Linux reads a signalfd and
/// re-raises a signal that lands on a thread without its mask; in the fault
/// tests a worker now and then never saw SIGTERM at all (main thread's mask
/// rewritten to libdispatch's, nothing pending, no handler run), and a small
/// program sending itself SIGTERM 40 times lost one. `sigwait` takes the
/// signal from the process's queue, whichever thread it was aimed at.
enum SignalHandling {
    /// Call before starting threads that should not see the signals: they
    /// inherit the block from the calling thread (librdkafka blocks every
    /// signal in its own threads anyway).
    static func install(stopSignal: StopSignal, logger: Logger) -> [SignalWatcher] {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        // An ignored signal is discarded, blocked or not, so sigwait would never see it; a
        // non-interactive shell starts background jobs (`cmd &`, as scripts/demo does) with
        // SIGINT ignored. Blocked in every thread, the default action never runs.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        let watcher = SignalWatcher()
        let waitSet = stopSignals
        let thread = Thread {
            var received: Int32 = 0
            while true {
                var waitFor = waitSet
                guard sigwait(&waitFor, &received) == 0 else { continue }
                if watcher.isCancelled { continue }
                if stopSignal.isStopRequested { exit(130) }
                logger.notice("stop requested; finishing the current batch", metadata: ["signal": "\(received)"])
                stopSignal.requestStop()
            }
        }
        thread.name = "pipeline-signals"
        thread.start()
        return [watcher]
    }
}

/// Stops acting on signals once cancelled (the command is returning).
final class SignalWatcher: @unchecked Sendable {  // one Bool behind a lock
    private let lock = NSLock()
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }
    func cancel() { lock.withLock { cancelled = true } }
}
