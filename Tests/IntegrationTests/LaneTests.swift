import EventContract
import Foundation
import LibPQ
import PipelineCore
import PipelineIO
import Synchronization
import Testing

/// `--connections N`: each cycle's messages split by partition into N lanes,
/// each committed in a transaction of its own, in parallel.
@Suite("lanes: a batch cycle loaded over several connections", .serialized)
struct LaneTests {
    @Test("--connections 2 on 4 partitions: exactly once, offsets at the end, each ledger row one lane's")
    func twoLanes() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        try Self.loadWithBinary(kafka: kafka, connections: 2, label: "lanes2", count: 20_000)
    }

    @Test("--connections 3 on 2 partitions: a lane with no partition stays empty; exactly once")
    func moreLanesThanPartitions() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        try Self.loadWithBinary(kafka: kafka, connections: 3, label: "lanes3", count: 6_000)
    }

    @Test("--connections outside 1...16 is refused with a clear error")
    func connectionsValidated() throws {
        let log = NSTemporaryDirectory() + "pipeline-lanes-validation-\(UUID().uuidString).log"
        for bad in ["0", "17"] {
            let status = try PipelineBinary.run(
                [
                    "worker", "--database", "postgresql://nowhere/none", "--brokers", "127.0.0.1:1", "--connections",
                    bad,
                ],
                logFile: log)
            #expect(status != 0)
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(text.components(separatedBy: "must be between 1 and 16").count - 1 == 2, "see \(log)")
    }

    @Test("a fenced lane (another worker advanced its partition) does not stop the other lane's batch")
    func fencedLaneAlone() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("lanefence")
        var factory = EventFactory(seed: 71)
        let onZero = factory.messages(count: 300, malformedEvery: 10)
        let onOne = factory.messages(count: 200, malformedEvery: 10)
        try kafka.produce(onZero, partition: 0)
        try kafka.produce(onOne, partition: 1)

        var run = WorkerRun(kafka: kafka, database: database, workerID: "lanes")
        // One cycle holding every message: lane 0 gets partition 0, lane 1 partition 1.
        run.configuration.intervalMs = 30_000
        run.configuration.maxBatchEvents = onZero.count + onOne.count
        let (databaseURL, topic) = (database.url, kafka.topic)
        run.wrapSink = { lane, sink in
            guard lane == 1 else { return sink }
            // Just before lane 1 commits, another worker loads partition 1 and advances its offset.
            return InterposedSink(sink) { _ in
                try loadAsAnotherWorker(onOne, partition: 1, databaseURL: databaseURL, topic: topic)
            }
        }
        let summary = try run.run()

        #expect(summary.batches == 1 && summary.fencedBatches == 1, "\(summary)")
        #expect(summary.events + summary.rejected == onZero.count)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(onZero + onOne)
        let ledger = try database.connect().execute(
            "SELECT worker_id, partitions->0->>'partition', events + rejected FROM etl.batches ORDER BY worker_id")
        #expect(ledger.rowCount == 2)
        #expect(ledger.value(0, 0) == "lanes" && ledger.value(0, 1) == "0" && ledger.int64(0, 2) == 300)
        #expect(ledger.value(1, 0) == "other" && ledger.value(1, 1) == "1" && ledger.int64(1, 2) == 200)
    }

    @Test("a stop while one lane retries: that lane's batch is dropped, the other lane's committed")
    func stopWhileOneLaneRetries() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("lanestop")
        var factory = EventFactory(seed: 72)
        let onZero = factory.messages(count: 300)
        try kafka.produce(onZero, partition: 0)
        try kafka.produce(factory.messages(count: 200), partition: 1)

        var run = WorkerRun(kafka: kafka, database: database, workerID: "lanes")
        run.configuration.intervalMs = 30_000
        run.configuration.maxBatchEvents = 500
        let stopSignal = run.stopSignal
        let attempts = AttemptCounter()
        run.wrapSink = { lane, sink in
            guard lane == 1 else { return sink }
            // Lane 1's database "fails" every time; after a few retries the worker is told to stop.
            return InterposedSink(sink, everyCommit: true) { _ in
                if attempts.next() == 3 { stopSignal.requestStop() }
                throw TestSetupError("simulated connection failure")
            }
        }
        let summary = try run.run()

        #expect(summary.batches == 1 && summary.droppedBatches == 1, "\(summary)")
        #expect(summary.events == onZero.count)
        #expect(attempts.value >= 3)
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 1)
        #expect(try database.count("SELECT count(*) FROM staging.events WHERE kafka_partition = 1") == 0)
        #expect(
            try database.count(
                "SELECT next_offset FROM etl.offsets WHERE topic = $1 AND partition = 0", [kafka.topic]) == 300)
        #expect(
            try database.count(
                "SELECT next_offset FROM etl.offsets WHERE topic = $1 AND partition = 1", [kafka.topic]) == 0)
    }

    // MARK: - Helpers

    /// Loads `count` messages (some malformed) with `pipeline worker --connections N`, then
    /// checks the load and the ledger.
    private static func loadWithBinary(kafka: KafkaFixture, connections: Int, label: String, count: Int) throws {
        let database = try TestDatabase.migrated(label)
        let log = NSTemporaryDirectory() + "pipeline-\(label)-\(database.name).log"
        var factory = EventFactory(seed: UInt64(70 + connections))
        let messages = factory.messages(count: count, malformedEvery: 13)
        try kafka.produce(messages)
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
                "--no-group", "--available-now", "--connections", String(connections), "--max-batch-events", "1000",
                "--interval", "200ms", "--max-message-bytes", "4000",
            ], logFile: log)
        #expect(status == 0, "see \(log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)

        // etl.offsets ends at each partition's high watermark.
        for (partition, marks) in try kafka.watermarks().enumerated() {
            #expect(
                try database.count(
                    "SELECT next_offset FROM etl.offsets WHERE topic = $1 AND partition = $2",
                    [kafka.topic, String(partition)]) == Int(marks.high), "partition \(partition)")
        }
        let ranges =
            "SELECT b.batch_id, (p ->> 'partition')::int AS partition, (p ->> 'first_offset')::bigint AS first, (p ->> 'last_offset')::bigint AS last FROM etl.batches AS b, jsonb_array_elements(b.partitions) AS p"
        // Each ledger row holds one lane's partitions (number modulo N)...
        #expect(
            try database.count(
                "SELECT count(*) FROM (SELECT batch_id FROM (\(ranges)) AS r GROUP BY batch_id HAVING count(DISTINCT partition % \(connections)) > 1) AS mixed"
            ) == 0)
        // ...both lanes that own partitions loaded some (the topics here have 2 or 4)...
        #expect(
            try database.scalar(
                "SELECT string_agg(DISTINCT (partition % \(connections))::text, ',') FROM (\(ranges)) AS r") == "0,1")
        // ...and a partition's ranges follow each other from offset 0: never overlapping, never apart.
        #expect(
            try database.count(
                "SELECT count(*) FROM (SELECT first, lag(last) OVER (PARTITION BY partition ORDER BY first) AS previous FROM (\(ranges)) AS r) AS s WHERE first <> coalesce(previous + 1, 0)"
            ) == 0)
        #expect(try database.count("SELECT count(*) FROM etl.batches") >= count / 1000, "see \(log)")
    }
}

/// Commits `messages`, the whole of `partition` from offset 0, as worker "other" would.
private func loadAsAnotherWorker(
    _ messages: [EventFactory.Message], partition: Int32, databaseURL: String, topic: String
) throws {
    let other = PostgresEventSink(
        databaseURL: databaseURL, topic: topic, workerID: "other", logger: .init(label: "other"))
    let starts = try other.claimPartitions(
        [PartitionWatermarks(partition: partition, low: 0, high: Int64(messages.count))], startFrom: .earliest)
    guard starts == [PartitionStart(partition: partition, nextOffset: 0)] else {
        throw TestSetupError("partition \(partition) was already loaded: \(starts)")
    }
    var batch = EventBatch(topic: topic)
    batch.reset(batchID: try other.reserveBatchID(), startedAtMicros: WallClock.nowMicros())
    let validator = EventValidator(
        limits: {
            var limits = ContractLimits(); limits.maxMessageBytes = 4_000; return limits
        }())
    for (offset, message) in messages.enumerated() {
        withOptionalBytes(message.value) { value in
            batch.add(
                IncomingMessage(
                    partition: partition, offset: Int64(offset), timestampMs: nil, key: nil, payload: value),
                expectedNextOffset: 0, validator: validator, nowMicros: WallClock.nowMicros())
        }
    }
    guard case .committed = try other.commit(batch) else { throw TestSetupError("the other worker was fenced") }
}

/// Counts a lane's commit attempts across threads.
private final class AttemptCounter: Sendable {
    private let count = Mutex(0)
    func next() -> Int {
        count.withLock {
            $0 += 1; return $0
        }
    }
    var value: Int { count.withLock { $0 } }
}
