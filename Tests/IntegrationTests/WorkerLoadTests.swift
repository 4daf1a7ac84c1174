import EventContract
import Foundation
import LibPQ
import PipelineCore
import PipelineIO
import Testing

@Suite("the worker loads Kafka into PostgreSQL exactly once", .serialized)
struct WorkerLoadTests {
    @Test("an end-to-end load with every kind of malformed message: counts exact, payloads intact")
    func endToEnd() throws {
        let kafka = try KafkaFixture()
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("e2e")
        var factory = EventFactory(seed: 1)
        let messages = factory.messages(count: 3000, malformedEvery: 10)
        try kafka.produce(messages)

        let summary = try WorkerRun(kafka: kafka, database: database).run()

        #expect(summary.events == 2700)
        #expect(summary.rejected == 300)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        // Every reason the contract lists shows up.
        let reasons = try database.connect().execute("SELECT DISTINCT reason FROM etl.rejected_events")
        let found = Set((0..<reasons.rowCount).compactMap { reasons.value($0, 0) })
        #expect(found == EventFactory.allReasons)
        // Rejected messages are kept byte for byte (a tombstone stays NULL), with their reason.
        let connection = try database.connect()
        for message in messages where message.expectedReason != nil {
            let hex = message.value.map { "\\x" + $0.map { String(format: "%02x", $0) }.joined() }
            let matches = try connection.execute(
                "SELECT count(*) FROM etl.rejected_events WHERE raw IS NOT DISTINCT FROM $1::bytea AND reason = $2",
                [hex, message.expectedReason])
            #expect((matches.int64(0, 0) ?? 0) >= 1, "rejected \(message.expectedReason!) not kept whole")
        }
        // Accepted payloads equal the produced JSON, and the extracted columns match.
        for message in messages.prefix(200) where message.expectedReason == nil {
            let row = try connection.execute(
                "SELECT payload::jsonb = $2::jsonb, user_id = $2::jsonb->>'user_id', event_time = ($2::jsonb->>'event_time')::timestamptz, event_type = $2::jsonb->>'event_type' FROM staging.events WHERE event_id = $1",
                [message.eventID, String(decoding: message.value!, as: UTF8.self)])
            #expect(row.rowCount == 1)
            #expect((0..<4).allSatisfy { row.value(0, $0) == "t" })
        }
        // The ledger accounts for every message.
        #expect(try database.count("SELECT sum(events + rejected) FROM etl.batches") == messages.count)
        #expect(
            try database.count(
                "SELECT count(*) FROM etl.batches WHERE latency_p95_ms IS NULL OR jsonb_array_length(partitions) = 0")
                == 0)
    }

    @Test("a second run loads nothing again: offsets come from PostgreSQL")
    func rerunLoadsNothing() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("rerun")
        var factory = EventFactory(seed: 2)
        let first = factory.messages(count: 500, malformedEvery: 7)
        try kafka.produce(first)
        _ = try WorkerRun(kafka: kafka, database: database).run()
        let second = factory.messages(count: 300, malformedEvery: 7)
        try kafka.produce(second)
        let summary = try WorkerRun(kafka: kafka, database: database, workerID: "second").run()
        #expect(summary.events + summary.rejected == 300)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(first + second)
    }

    @Test("a zombie's batch is refused: the offset update is fenced")
    func fencing() throws {
        let kafka = try KafkaFixture(partitions: 1)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("fence")
        var factory = EventFactory(seed: 3)
        let messages = factory.messages(count: 50)
        try kafka.produce(messages)
        // The zombie claims the partition at 0 and builds a batch of all 50...
        let sink = PostgresEventSink(
            databaseURL: database.url, topic: kafka.topic, workerID: "zombie", logger: .init(label: "test"))
        let starts = try sink.claimPartitions(
            [PartitionWatermarks(partition: 0, low: 0, high: 50)], startFrom: .earliest)
        #expect(starts == [PartitionStart(partition: 0, nextOffset: 0)])
        var batch = EventBatch(topic: kafka.topic)
        batch.reset(batchID: try sink.reserveBatchID(), startedAtMicros: WallClock.nowMicros())
        let validator = EventValidator()
        for (offset, message) in messages.enumerated() {
            message.value!.withUnsafeBytes { value in
                batch.add(
                    IncomingMessage(partition: 0, offset: Int64(offset), timestampMs: nil, key: nil, payload: value),
                    expectedNextOffset: 0, validator: validator, nowMicros: WallClock.nowMicros())
            }
        }
        // ...while the partition's new owner loads everything first.
        _ = try WorkerRun(kafka: kafka, database: database, workerID: "owner").run()
        #expect(try sink.commit(batch) == .fenced(partition: 0))
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        #expect(try database.count("SELECT count(*) FROM etl.batches WHERE worker_id = 'zombie'") == 0)
    }

    @Test("two workers forced onto the same partitions: fencing keeps the load exactly-once")
    func twoOwnersRace() async throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("race")
        var factory = EventFactory(seed: 4)
        let messages = factory.messages(count: 4000, malformedEvery: 13)
        try kafka.produce(messages)
        var first = WorkerRun(kafka: kafka, database: database, workerID: "a")
        var second = WorkerRun(kafka: kafka, database: database, workerID: "b")
        first.configuration.maxBatchEvents = 100
        second.configuration.maxBatchEvents = 100
        async let a = first.runDetached().value
        async let b = second.runDetached().value
        let summaries = try await [a, b]
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        #expect(summaries.map(\.events).reduce(0, +) == messages.filter { $0.expectedReason == nil }.count)
    }

    @Test("two workers in one group through a rebalance: exactly-once")
    func groupRebalance() async throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("group")
        var factory = EventFactory(seed: 5)
        var produced = factory.messages(count: 2000, malformedEvery: 11)
        try kafka.produce(produced)
        var first = WorkerRun(kafka: kafka, database: database, workerID: "g1", group: "loaders")
        first.configuration.availableNow = false
        let firstTask = first.runDetached()
        defer { first.stopSignal.requestStop() }
        try await waitUntil(seconds: 30) { try database.count("SELECT count(*) FROM etl.batches") > 0 }
        // A second member joins (a rebalance) while events keep flowing, until both have loaded some.
        var second = WorkerRun(kafka: kafka, database: database, workerID: "g2", group: "loaders")
        second.configuration.availableNow = false
        let secondTask = second.runDetached()
        defer { second.stopSignal.requestStop() }
        try await waitUntil(seconds: 60) {
            let more = factory.messages(count: 200, malformedEvery: 11)
            try kafka.produce(more)
            produced += more
            return try database.count("SELECT count(DISTINCT worker_id) FROM etl.batches") == 2
        }
        try await waitUntil(seconds: 60) {
            try database.count("SELECT coalesce(sum(events + rejected), 0) FROM etl.batches") >= produced.count
        }
        first.stopSignal.requestStop()
        second.stopSignal.requestStop()
        _ = try await firstTask.value
        _ = try await secondTask.value
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(produced)
    }

    @Test("the worker's connection killed mid-load (pg_terminate_backend): retried, exactly-once")
    func connectionKilled() async throws {
        let kafka = try KafkaFixture(partitions: 3)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("kill")
        var factory = EventFactory(seed: 6)
        let messages = factory.messages(count: 20_000, malformedEvery: 17)
        try kafka.produce(messages)
        var run = WorkerRun(kafka: kafka, database: database, workerID: "victim")
        run.configuration.maxBatchEvents = 500
        let task = run.runDetached()
        let admin = try database.connect()
        var killed = 0
        while killed < 8 {
            let result = try admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                [database.name])
            killed += Int(result.int64(0, 0) ?? 0)
            try await Task.sleep(for: .milliseconds(50))
        }
        let summary = try await task.value
        #expect(killed >= 8)
        #expect(summary.events + summary.rejected == messages.count)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
    }
}

/// Polls `condition` every 100 ms until it holds, or fails the test after `seconds`.
func waitUntil(seconds: Double, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw TestSetupError("condition not met within \(seconds) s")
}

/// `waitUntil` for a test that is not async.
func waitUntilSync(seconds: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.1)
    }
    throw TestSetupError("condition not met within \(seconds) s")
}
