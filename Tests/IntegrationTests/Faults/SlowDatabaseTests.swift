import Foundation
import LibPQ
import Testing

@Suite("faults: a slow database (statement_timeout, lock waits) and back-pressure", .serialized)
struct SlowDatabaseTests {
    @Test("staging.events locked past statement_timeout: batches retry, memory stays bounded, exactly-once")
    func lockWaitsAndTimeouts() throws {
        let locks = FaultScale.pick(suite: 2, soak: 6)
        let holdSeconds = FaultScale.pick(suite: 5.0, soak: 15.0)
        // ~330 bytes an event (~40 MiB in the suite); 16 partitions keep each under the mock cluster's 5 MiB retention.
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 16, soak: 32))
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("slowdb")
        // Every new session of this database, the worker's included, cancels statements after 400 ms.
        try database.connect().execute("ALTER DATABASE \(database.name) SET statement_timeout = '400ms'")
        let rig = FaultRig(kafka: kafka, database: database, label: "slowdb")
        let maxBatchBytes = 4 << 20
        let worker = try rig.startWorker([
            "--no-group", "--max-batch-bytes", String(maxBatchBytes), "--max-batch-events", "50000", "--interval",
            "500ms",
        ])
        defer { FaultRig.sigkill(worker) }
        // As fast as it goes: Kafka fills up while the worker cannot commit.
        let producer = try rig.startProducer(
            count: FaultScale.pick(suite: 120_000, soak: 400_000), rate: 0, seed: 61)
        defer { FaultRig.sigkill(producer) }

        let admin = try database.connect()
        // The test's own lock waits for the batch in flight, however long it takes: its session
        // would otherwise inherit the database's 400 ms too.
        try admin.execute("SET statement_timeout = 0")
        var peakKiB = 0
        for _ in 0..<locks {
            // SHARE mode conflicts with COPY's ROW EXCLUSIVE: every load waits, then times out.
            try admin.execute("BEGIN")
            try admin.execute("LOCK TABLE staging.events IN SHARE MODE")
            let released = Date().addingTimeInterval(holdSeconds)
            while Date() < released {
                peakKiB = max(peakKiB, peakResidentKiB(worker.processIdentifier) ?? 0)
                Thread.sleep(forTimeInterval: 0.2)
            }
            try admin.execute("COMMIT")
            Thread.sleep(forTimeInterval: 1)
        }
        try rig.finish(producer: producer)
        // The test's own queries from here on (counting 400 000 rows in the soak) need no timeout;
        // the worker keeps its session's 400 ms.
        try admin.execute("ALTER DATABASE \(database.name) RESET statement_timeout")
        // Catch up with the worker that was held back (it retries with backoff, at most 10 s apart).
        let marks = try kafka.watermarks()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline,
            try database.count("SELECT coalesce(sum(next_offset), 0) FROM etl.offsets")
                < Int(marks.map(\.high).reduce(0, +))
        {
            peakKiB = max(peakKiB, peakResidentKiB(worker.processIdentifier) ?? 0)
            Thread.sleep(forTimeInterval: 0.2)
        }
        peakKiB = max(peakKiB, peakResidentKiB(worker.processIdentifier) ?? 0)
        #expect(worker.isRunning, "the worker gave up; see \(rig.log)")
        #expect(FaultRig.stop(worker) == 0, "see \(rig.log)")
        #expect(rig.logCount("57014") >= locks, "statement_timeout never cancelled a load; see \(rig.log)")
        #expect(rig.logCount("retrying") >= locks)
        // Bounded: librdkafka's prefetch (queued.max.messages.kbytes) and the worker's own
        // (PrefetchBuffer, 32 MiB) plus the batch being built (values, COPY rows) plus the
        // runtime, not the backlog in Kafka (~40 MiB in the suite, ~130 MiB in the soak).
        let bound = 256 * 1024
        print("slow database: worker peak RSS \(peakKiB / 1024) MiB (max batch \(maxBatchBytes >> 20) MiB)")
        FaultReport.note("slow database: worker peak RSS \(peakKiB / 1024) MiB")
        #expect(peakKiB > 0 && peakKiB < bound, "peak RSS \(peakKiB) KiB")
        try rig.drain()
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "slow database (lock waits, statement_timeout)", trials: locks)
    }
}
