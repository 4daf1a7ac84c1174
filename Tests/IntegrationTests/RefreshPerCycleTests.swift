import Foundation
import Logging
import PipelineCore
import PipelineIO
import Synchronization
import Testing

/// The worker's aggregate refresher asks for one refresh per cycle (`cycleEnded`), after every
/// lane's batch of the cycle committed. Asked per batch, the second lane's request came while
/// the refresh the first had started was taking both batches' marks, and an empty refresh
/// followed in every cycle.
@Suite("one aggregate refresh per cycle")
struct RefreshPerCycleTests {
    @Test(
        "two lanes' batches committed ask for no refresh until their cycle ends, then for one; a cycle without a commit for none"
    )
    func onePerCycle() throws {
        let database = try TestDatabase.migrated("refreshcycle")
        let lines = LogLines()
        let refresher = AggregateRefresher(databaseURL: database.url, logger: lines.logger())
        defer { withExtendedLifetime(refresher) {} }
        let batch = EventBatch(topic: "events")

        refresher.batchCommitted(batch)
        refresher.batchCommitted(batch)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(lines.count("aggregates refreshed") == 0, "the cycle has not ended")

        refresher.cycleEnded()
        try waitUntilSync(seconds: 10) { lines.count("aggregates refreshed") > 0 }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(lines.count("aggregates refreshed") == 1, "one refresh for both batches")

        refresher.cycleEnded()
        Thread.sleep(forTimeInterval: 0.5)
        #expect(lines.count("aggregates refreshed") == 1, "nothing committed since: no refresh")
    }
}

/// The messages logged through `logger()`, for a test to count.
private final class LogLines: Sendable {
    private let messages = Mutex<[String]>([])

    func logger() -> Logger {
        var logger = Logger(label: "refresh-per-cycle") { _ in Handler(lines: self) }
        logger.logLevel = .debug
        return logger
    }

    func count(_ message: String) -> Int {
        messages.withLock { $0.filter { $0 == message }.count }
    }

    private struct Handler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            lines.messages.withLock { $0.append(message.description) }
        }
    }
}
