import EventContract
import Foundation
import LibPQ
import PipelineCore
import PipelineIO
import Synchronization
import Testing

/// Producer duplicates (same event_id at a new offset) count once everywhere,
/// checked against answers computed in Swift from the distinct events.
@Suite("producer duplicates count once", .serialized)
struct DedupTests {
    static let start = AggregateEvent.epochMs(2026, 3, 1, 12)
    static let minute: Int64 = 60_000

    /// A worker run that loads a phase's `messages` as one batch cycle over `connections` lanes.
    static func oneBatchRun(_ kafka: KafkaFixture, _ database: TestDatabase, connections: Int, messages: Int)
        -> WorkerRun
    {
        var run = WorkerRun(kafka: kafka, database: database)
        run.connections = connections
        run.configuration.intervalMs = 30_000
        run.configuration.maxBatchEvents = messages
        return run
    }

    @Test("copies in a batch, across batches and partitions, after a restart, after their window is final; conflicts")
    func countedOnce() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("dedup")
        var stream = AggregateEventStream(seed: 88)

        // Batch 1: 1200 events over 40 minutes, 60 of them sent twice, half of
        // those copies under another key (so, likely, on another partition).
        let originals = stream.events(count: 1200, fromMs: Self.start, toMs: Self.start + 40 * Self.minute)
        let copies = Self.copies(of: originals.prefix(60)) { $0.isMultiple(of: 2) }
        let first = stream.shuffle(originals).map(\.message) + copies
        try kafka.produce(first)
        // One transaction per phase: with two lanes, the lane committing second is judged against
        // the watermark the first one moved, and its older events count as late.
        var run = Self.oneBatchRun(kafka, database, connections: 1, messages: first.count)
        let firstSummary = try run.run()
        #expect(firstSummary.events == originals.count)
        #expect(firstSummary.duplicates == copies.count)

        // Batch 2, by a restarted worker: copies of events whose windows are
        // final by now (the watermark is 5 minutes behind the newest event),
        // events reusing an id for other content, and new events.
        let finalCopies = originals.filter { $0.timeMs < Self.start + 20 * Self.minute }.prefix(100)
        let conflicts = originals.filter { $0.timeMs >= Self.start + 20 * Self.minute }.prefix(10).map { original in
            var other = stream.event(timeMs: original.timeMs)
            other.id = original.id
            other.user = "someone-else"
            return other
        }
        // Copies of the same content spelled otherwise (a space more): other bytes, so the
        // payload hashes differ and the claimer's row is read and compared as jsonb.
        let respelled = originals.suffix(5).map { event in
            var message = event.message
            message.value = Array(" ".utf8) + (message.value ?? [])
            return message
        }
        let newEvents = stream.events(
            count: 300, fromMs: Self.start + 40 * Self.minute, toMs: Self.start + 45 * Self.minute)
        let second = (finalCopies + conflicts + newEvents).map(\.message) + respelled
        try kafka.produce(second)
        run.configuration.workerID = "restarted"
        run.configuration.maxBatchEvents = second.count
        let secondSummary = try run.run()
        #expect(secondSummary.events == newEvents.count)
        #expect(secondSummary.duplicates == finalCopies.count + respelled.count)
        #expect(secondSummary.conflicts == conflicts.count)

        #expect(try database.count("SELECT etl.refresh_aggregates()") > 0)
        let distinct = originals + newEvents
        try expectAggregates(equal: distinct, in: database)
        #expect(
            try database.count("SELECT count(*) FROM etl.batches WHERE NOT aggregated_by_worker") == 0,
            "the batches holding copies and conflicts are aggregated by the worker too, without them")
        for view in ["analytics.events_per_5_minutes", "analytics.events_per_hour"] {
            #expect(try database.count("SELECT sum(events) FROM \(view)") == distinct.count, "\(view)")
        }
        #expect(
            try database.count("SELECT sum(views) FROM analytics.page_views_per_minute")
                == distinct.filter { $0.type == "page_view" }.count)
        #expect(
            try database.count("SELECT coalesce(sum(late_events), 0) FROM analytics.late_events_per_minute") == 0,
            "copies of events in final windows are not late events")

        // The ledger accounts for every record; both payloads of each conflict are findable.
        let ledger = try database.connect().execute(
            "SELECT sum(events), sum(duplicates), sum(conflicts), sum(rejected) FROM etl.batches")
        #expect(ledger.int64(0, 0) == Int64(distinct.count))
        #expect(ledger.int64(0, 1) == Int64(copies.count + finalCopies.count + respelled.count))
        #expect(ledger.int64(0, 2) == Int64(conflicts.count))
        #expect(ledger.int64(0, 3) == 0)
        #expect(
            try database.count(
                "SELECT count(*) FROM etl.event_id_conflicts WHERE first_payload <> conflicting_payload "
                    + "AND conflicting_payload ->> 'user_id' = 'someone-else'") == conflicts.count)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(first + second)
        // The worker finds copies and conflicts before staging anything: no row was staged and
        // deleted again (the trigger's way), and none went through the parent.
        #expect(
            try database.count(
                "SELECT coalesce(sum(n_tup_del), 0) FROM pg_stat_user_tables WHERE schemaname = 'staging'") == 0)
    }

    @Test("copies in the other lane: two connections claim the same ids at once, every record lands once")
    func copiesAcrossLanes() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("dedup_lanes")
        var stream = AggregateEventStream(seed: 89)
        // Every copy under another key: about half land on a partition of the other lane, whose
        // claim of the same id is not committed when this lane looks for copies, so this lane's
        // claim waits for it, fails, and the copies are looked for again.
        let originals = stream.events(count: 2000, fromMs: Self.start, toMs: Self.start + 20 * Self.minute)
        let copies = Self.copies(of: originals.prefix(600)) { _ in true }
        let messages = stream.shuffle(originals).map(\.message) + copies
        try kafka.produce(messages)
        let run = Self.oneBatchRun(kafka, database, connections: 2, messages: messages.count)
        let summary = try run.run()
        #expect(summary.events == originals.count)
        #expect(summary.duplicates == copies.count)
        #expect(summary.conflicts == 0)
        #expect(try database.count("SELECT count(*) FROM staging.events") == originals.count)
        #expect(try database.count("SELECT count(DISTINCT event_id) FROM staging.events") == originals.count)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        #expect(try database.count("SELECT etl.refresh_aggregates()") >= 0)
        #expect(try database.count("SELECT sum(events) FROM analytics.events_per_hour") == originals.count)
    }

    @Test("copies in every cycle, of earlier cycles' events and the other lane's: each once, earlier cycles' hinted")
    func hintedCopies() throws {
        let kafka = try KafkaFixture(partitions: 4)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("dedup_hints")
        var stream = AggregateEventStream(seed: 90)
        let originals = stream.shuffle(
            stream.events(count: 6000, fromMs: Self.start, toMs: Self.start + 30 * Self.minute))
        // After every tenth event, a copy of the fifth before it under another key: in this
        // batch, the other lane's or an earlier cycle's, as the partitions fall.
        var messages: [EventFactory.Message] = []
        var copies = 0
        for (index, event) in originals.enumerated() {
            messages.append(event.message)
            guard index % 10 == 9 else { continue }
            messages += Self.copies(of: originals[(index - 5)...(index - 5)]) { _ in true }
            copies += 1
        }
        try kafka.produce(messages)
        let commits = CommitRecorder()
        var run = WorkerRun(kafka: kafka, database: database)
        run.configuration.intervalMs = 1_000
        run.configuration.maxBatchEvents = 800
        run.wrapSink = { _, sink in InterposedSink(sink, everyCommit: true) { commits.record($0) } }
        let summary = try run.run()
        #expect(summary.events == originals.count)
        #expect(summary.duplicates == copies)
        #expect(try database.count("SELECT count(DISTINCT event_id) FROM staging.events") == originals.count)
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(messages)
        // Which cycles hold both lanes' batches depends on what each poll brought: copies of earlier
        // cycles are hinted here, the other lane's in the tests below.
        let attempts = commits.all
        let hinted = Set(attempts.filter { !$0.hints.copiesOfCommitted.isEmpty }.map(\.batchID))
        #expect(!hinted.isEmpty, "copies of earlier cycles hinted")
        let retried = Set(Dictionary(grouping: attempts, by: \.batchID).filter { $0.value.count > 1 }.keys)
        #expect(retried.count < hinted.count, "hints that held: \(retried.count) of \(hinted.count) batches retried")
    }

    @Test("a copy of the other lane's record waits for that lane's transaction, then is judged against its claim")
    func hintedCopyWaitsForTheOtherLane() throws {
        let database = try TestDatabase.migrated("dedup_hint_wait")
        let (lanes, batches) = try Self.twoLanesCarryingOneEvent(database)
        // Lane 0's transaction takes its lock first thing, then waits here for its offsets row.
        let holder = try database.connect()
        try holder.execute("BEGIN")
        try holder.execute("SELECT * FROM etl.offsets WHERE partition = 0 FOR UPDATE")
        let laneZero = OnThread { try lanes[0].commit(batches[0]) }
        try Self.waitUntil(database, "a backend waits on etl.offsets", "wait_event = 'transactionid'")
        // Lane 1 loads its batch, then waits for lane 0's transaction before judging its copy.
        let laneOne = OnThread { try lanes[1].commit(batches[1]) }
        try Self.waitUntil(database, "a backend waits on the batch lock", "wait_event = 'advisory'")
        try holder.execute("ROLLBACK")
        #expect(try laneZero.value() == .committed(CommitSummary()))
        #expect(try laneOne.value() == .committed(CommitSummary(duplicates: 1)), "at its first attempt")
        #expect(try database.count("SELECT count(*) FROM staging.events") == 1)
        #expect(
            try database.scalar("SELECT reason || ' of ' || first_partition FROM etl.duplicate_events")
                == "duplicate of 0")
    }

    @Test("a copy of an earlier lane's record whose batch did not commit: the retry loads it as the event")
    func hintWhoseClaimerDidNotCommit() throws {
        let database = try TestDatabase.migrated("dedup_hint_fenced")
        let (lanes, batches) = try Self.twoLanesCarryingOneEvent(database)
        // Another worker moved partition 0 on: lane 0's batch is fenced and claims nothing.
        try database.connect().execute("UPDATE etl.offsets SET next_offset = 1 WHERE partition = 0")
        #expect(try lanes[0].commit(batches[0]) == .fenced(partition: 0))
        // Lane 1's first attempt finds no claimer for its copy and fails; the retry asks PostgreSQL.
        #expect(throws: PostgresError.self) { try lanes[1].commit(batches[1]) }
        #expect(try lanes[1].commit(batches[1]) == .committed(CommitSummary()))
        #expect(try database.count("SELECT count(*) FROM staging.events WHERE kafka_partition = 1") == 1)
        #expect(try database.count("SELECT count(*) FROM etl.duplicate_events") == 0)
    }

    /// Two lanes' sinks on partitions 0 and 1, each with a batch holding the same event, hinted as
    /// the worker hints a cycle once copies are about: lane 1's record is a copy of lane 0's.
    static func twoLanesCarryingOneEvent(_ database: TestDatabase) throws -> ([PostgresEventSink], [EventBatch]) {
        let topic = "events"
        let lanes = (0..<2).map { lane in
            PostgresEventSink(
                databaseURL: database.url, topic: topic, workerID: "w", logger: .init(label: "lane\(lane)"))
        }
        _ = try lanes[0].claimPartitions(
            [PartitionWatermarks(partition: 0, low: 0, high: 1), PartitionWatermarks(partition: 1, low: 0, high: 1)],
            startFrom: .earliest)
        var stream = AggregateEventStream(seed: 91)
        let event = stream.event(timeMs: Self.start)
        var batches = try (0..<2).map { lane in
            var batch = EventBatch(topic: topic)
            batch.reset(batchID: try lanes[lane].reserveBatchID(), startedAtMicros: WallClock.nowMicros())
            withOptionalBytes(event.message.value) { value in
                batch.add(
                    IncomingMessage(partition: Int32(lane), offset: 0, timestampMs: nil, key: nil, payload: value),
                    expectedNextOffset: 0, validator: EventValidator(), nowMicros: WallClock.nowMicros())
            }
            return batch
        }
        var recent = RecentClaims()
        recent.cycleEnded(committed: [], copiesLoaded: true)
        for (index, hints) in recent.hints(for: batches).enumerated() { batches[index].claimHints = hints }
        #expect(batches[1].claimHints.copiesOfEarlierLanes == [0])
        #expect(batches[1].claimHints.awaitedBatches == [batches[0].batchID])
        #expect(batches[0].claimHints.awaitedByLaterLanes)
        return (lanes, batches)
    }

    /// Waits (20 s at most) until a backend of the database waits as `condition` says.
    static func waitUntil(_ database: TestDatabase, _ what: String, _ condition: String) throws {
        let deadline = Date().addingTimeInterval(20)
        while try database.count(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND \(condition)") == 0
        {
            try #require(Date() < deadline, "never: \(what)")
            usleep(20_000)
        }
    }

    @Test("two transactions loading the same event_id at once: the first to commit keeps it")
    func concurrentClaims() throws {
        let database = try TestDatabase.migrated("dedupcc")
        let first = try database.connect()
        try first.execute("SELECT etl.ensure_event_partitions(ARRAY[DATE '2026-03-01'])")
        try first.execute("BEGIN")
        try first.execute(Self.insertEvent(partition: 0))

        // The second blocks on the first's uncommitted event_id, then finds it claimed.
        let url = database.url
        let second = OnThread {
            try PQConnection(url).executeScript("BEGIN; \(Self.insertEvent(partition: 1)); COMMIT")
        }
        try Self.waitUntil(
            database, "the second transaction waited for the first",
            "wait_event_type = 'Lock' AND query LIKE 'BEGIN; INSERT%'")
        try first.execute("COMMIT")
        try second.value()

        #expect(try database.count("SELECT count(*) FROM staging.events WHERE kafka_partition = 0") == 1)
        #expect(try database.count("SELECT count(*) FROM staging.events WHERE kafka_partition = 1") == 0)
        #expect(
            try database.scalar("SELECT reason || ' of ' || first_partition FROM etl.duplicate_events")
                == "duplicate of 0")
    }

    /// The events' messages again, byte for byte; the `rekeyed` ones (by their index) under
    /// another key, so, likely, on another partition.
    static func copies(of events: ArraySlice<AggregateEvent>, rekeyed: (Int) -> Bool) -> [EventFactory.Message] {
        events.enumerated().map { index, event in
            var message = event.message
            if rekeyed(index) { message.key = Array("rekeyed-\(index)".utf8) }
            return message
        }
    }

    static func insertEvent(partition: Int) -> String {
        """
        INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic,
                                    kafka_partition, kafka_offset, batch_id)
        VALUES ('00000000-0000-4000-8000-0000000000cc', 'click', '2026-03-01 12:00:00+00', 'u1',
                '{"element": "nav"}', 'events', \(partition), 0, \(partition + 1))
        """
    }
}

/// Each commit attempt a lane's sink saw: its batch and the hints it came with.
final class CommitRecorder: Sendable {
    struct Attempt {
        var batchID: Int64
        var hints: ClaimHints
    }
    private let attempts = Mutex<[Attempt]>([])
    func record(_ batch: EventBatch) {
        attempts.withLock { $0.append(Attempt(batchID: batch.batchID, hints: batch.claimHints)) }
    }
    var all: [Attempt] { attempts.withLock { $0 } }
}

/// Runs `body` on a thread of its own (it may block on locks); `value()` waits for its result.
final class OnThread<Value>: @unchecked Sendable {  // result is written once, before the semaphore signals
    private var result: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () throws -> Value) {
        // Handed over to the thread, never touched here again.
        nonisolated(unsafe) let body = body
        Thread { [self] in
            result = Result { try body() }
            done.signal()
        }.start()
    }

    func value() throws -> Value {
        done.wait()
        return try result!.get()
    }
}
