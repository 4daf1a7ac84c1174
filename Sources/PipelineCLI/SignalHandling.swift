import Dispatch
import Foundation
import Logging
import PipelineCore

/// SIGINT and SIGTERM request a graceful stop: the worker finishes or drops
/// its batch and leaves the group. A second signal exits at once.
enum SignalHandling {
    /// Call before any thread is started (librdkafka's, libdispatch's): the
    /// signals are blocked in this thread first, so every thread started
    /// later inherits the block and only libdispatch's signal source takes
    /// them. Without it the kernel may hand SIGTERM to a thread where
    /// libdispatch's no-op handler swallows it: the fault tests saw a worker
    /// ignore SIGTERM now and then (and a small program lost 1 signal in 40).
    static func install(stopSignal: StopSignal, logger: Logger) -> [any DispatchSourceSignal] {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stopSignal.isStopRequested { exit(130) }
                logger.notice("stop requested; finishing the current batch", metadata: ["signal": "\(number)"])
                stopSignal.requestStop()
            }
            source.resume()
            return source
        }
    }
}
