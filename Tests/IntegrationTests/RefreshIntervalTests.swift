import Foundation
import Testing

/// `pipeline worker --refresh-interval`: how often the worker refreshes the
/// aggregates while it loads; whatever the setting, every view is current when it exits.
@Suite("worker --refresh-interval", .serialized)
struct RefreshIntervalTests {
    static let start = AggregateEvent.epochMs(2026, 4, 1, 9)
    static let minute: Int64 = 60_000

    /// Loads 600 events in batches of 100; returns how many refreshes the worker logged.
    private func load(refreshInterval: String?, label: String) throws -> Int {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated(label)
        var stream = AggregateEventStream(seed: 17)
        let events = stream.events(count: 600, fromMs: Self.start, toMs: Self.start + 20 * Self.minute)
        try kafka.produce(events.map(\.message))

        let log = NSTemporaryDirectory() + "refresh-interval-\(database.name).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
                "--available-now", "--no-group", "--max-batch-events", "100", "--log-level", "debug",
            ] + (refreshInterval.map { ["--refresh-interval", $0] } ?? []), logFile: log)
        #expect(status == 0)
        #expect(
            try database.count("SELECT count(*) FROM etl.batches") >= 6, "several batches: room to refresh between them"
        )
        try expectAggregates(equal: events, in: database)
        let output = try String(contentsOfFile: log, encoding: .utf8)
        return output.split(separator: "\n").filter { $0.contains("aggregates refreshed") }.count
    }

    @Test("end: one refresh, before exiting; every view exact")
    func atExit() throws {
        #expect(try load(refreshInterval: "end", label: "refreshend") == 1)
    }

    @Test("default: refreshes while loading too; every view exact")
    func afterBatches() throws {
        #expect(try load(refreshInterval: nil, label: "refreshdefault") > 1)
    }

    @Test("a value that is neither a duration nor end is refused with its name")
    func refused() throws {
        let log = NSTemporaryDirectory() + "refresh-interval-refused-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = try PipelineBinary.run(
            ["worker", "--database", "postgresql://127.0.0.1:1/x", "--refresh-interval", "soon"], logFile: log)
        #expect(status == 64)
        #expect(try String(contentsOfFile: log, encoding: .utf8).contains("refresh-interval"))
    }
}
