import Dispatch
import Foundation
import Logging
import PipelineCore

/// SIGINT and SIGTERM request a graceful stop: the worker finishes or drops
/// its batch and leaves the group. A second signal exits at once.
enum SignalHandling {
    static func install(stopSignal: StopSignal, logger: Logger) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
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
