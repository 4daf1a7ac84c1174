import EventGenerator
import Foundation
import Testing

@Suite("faults: the worker process SIGKILLed while a producer writes", .serialized)
struct CrashLoopTests {
    @Test("SIGKILL at random moments, restarted each time: nothing lost, nothing twice")
    func crashLoop() throws {
        let kills = FaultScale.pick(suite: 8, soak: 20)
        let events = FaultScale.pick(suite: 20_000, soak: 200_000)
        // ~330 bytes an event: 16 partitions keep each under the mock cluster's 5 MiB retention.
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 8, soak: 16))
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("crashloop")
        let rig = FaultRig(kafka: kafka, database: database, label: "crashloop")

        let producer = try rig.startProducer(count: events, rate: FaultScale.pick(suite: 3000, soak: 5000), seed: 11)
        defer { FaultRig.sigkill(producer) }
        var generator = SplitMix64(seed: 12)
        var killed = 0
        while killed < kills {
            let worker = try rig.startWorker(["--no-group", "--max-batch-events", "300", "--interval", "200ms"])
            // Anywhere from start-up (connecting, claiming) to the middle of a COPY.
            Thread.sleep(forTimeInterval: Double.random(in: 0.2...1.6, using: &generator))
            FaultRig.sigkill(worker)
            killed += 1
        }
        try rig.finish(producer: producer)
        try rig.drain()
        #expect(try database.count("SELECT count(*) FROM etl.batches") > kills, "see \(rig.log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "crash loop (SIGKILL)", trials: killed)
    }
}
