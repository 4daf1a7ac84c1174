import EventGenerator
import Foundation
import Testing

@Suite("the pipeline binary, killed and restarted", .serialized)
struct CrashRestartTests {
    @Test("kcat produces every malformation; the worker is SIGKILLed repeatedly; nothing lost, nothing twice")
    func sigkillLoop() throws {
        // 8 partitions keep each under the mock cluster's 5 MiB retention.
        let kafka = try KafkaFixture(brokers: 3, partitions: 8)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.create("crash")
        let log = NSTemporaryDirectory() + "pipeline-crash-\(database.name).log"
        #expect(try PipelineBinary.run(["migrate", "--database", database.url], logFile: log) == 0)

        var factory = EventFactory(seed: 7)
        let messages = factory.messages(count: 40_000, malformedEvery: 9)
        try Kcat.produce(messages, brokers: kafka.brokers, topic: kafka.topic)

        let worker = [
            "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
            "--no-group", "--available-now", "--max-batch-events", "50", "--interval", "200ms",
            "--max-message-bytes", "4000", "--connections", "2",
        ]
        var generator = SplitMix64(seed: 8)
        var kills = 0
        for _ in 0..<6 {
            let process = try PipelineBinary.start(worker, logFile: log)
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.5, using: &generator))
            guard process.isRunning else { break }  // finished before the kill
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            kills += 1
        }
        #expect(kills >= 3, "the load finished too fast to be killed mid-way; see \(log)")
        #expect(try PipelineBinary.run(worker, logFile: log) == 0, "see \(log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        let reasons = try database.connect().execute("SELECT DISTINCT reason FROM etl.rejected_events")
        #expect(Set((0..<reasons.rowCount).compactMap { reasons.value($0, 0) }) == EventFactory.allReasons)
    }

    @Test("SIGTERM: the worker commits its batch, leaves the group and exits 0; a restart loads the rest once")
    func gracefulStop() async throws {
        let kafka = try KafkaFixture(brokers: 3, partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.create("sigterm")
        let log = NSTemporaryDirectory() + "pipeline-sigterm-\(database.name).log"
        #expect(try PipelineBinary.run(["migrate", "--database", database.url], logFile: log) == 0)
        var factory = EventFactory(seed: 10)
        let first = factory.messages(count: 5000, malformedEvery: 9)
        try Kcat.produce(first, brokers: kafka.brokers, topic: kafka.topic)

        let worker = [
            "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
            "--group", "sigterm-test", "--max-batch-events", "500", "--max-message-bytes", "4000",
            "--kafka-property", "session.timeout.ms=6000",
        ]
        let process = try PipelineBinary.start(worker, logFile: log)
        try await waitUntil(seconds: 30) { try database.count("SELECT count(*) FROM etl.batches") > 0 }
        process.terminate()  // SIGTERM
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning, "the worker did not stop within 20 s of SIGTERM; see \(log)")
        #expect(process.terminationStatus == 0, "see \(log)")

        let second = factory.messages(count: 2000, malformedEvery: 9)
        try Kcat.produce(second, brokers: kafka.brokers, topic: kafka.topic)
        #expect(try PipelineBinary.run(worker + ["--available-now"], logFile: log) == 0, "see \(log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(first + second)
    }
}
