import EventGenerator
import Foundation
import Testing

@Suite("faults: a rebalance storm and a zombie worker", .serialized)
struct RebalanceTests {
    private static let groupProperties = [
        "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
    ]

    @Test("three workers in one group, each leaving (SIGTERM or SIGKILL) and rejoining every few seconds")
    func rebalanceStorm() throws {
        let cycles = FaultScale.pick(suite: 6, soak: 30)
        // ~330 bytes an event: enough partitions to stay under the mock's 5 MiB each.
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 6, soak: 24))
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("storm")
        let rig = FaultRig(kafka: kafka, database: database, label: "storm")
        let producer = try rig.startProducer(
            count: FaultScale.pick(suite: 15_000, soak: 120_000), rate: 1000, seed: 41)
        defer { FaultRig.sigkill(producer) }
        func start(_ slot: Int) throws -> Process {
            try PipelineBinary.start(
                rig.workerArguments(
                    [
                        "--group", "storm", "--worker-id", "storm-\(slot)", "--max-batch-events", "300", "--interval",
                        "300ms",
                    ]
                        + Self.groupProperties), logFile: rig.log + ".storm-\(slot)")
        }
        var workers = try (0..<3).map(start)
        defer { workers.forEach(FaultRig.sigkill) }
        // The storm starts once the group has formed and each worker has loaded a batch: churn
        // from the first second once kept the group unformed for 18 s (the mock's joins take
        // seconds), and the other two workers never loaded, so the storm tested one worker.
        try waitUntilSync(seconds: 60) {
            try database.count("SELECT count(DISTINCT worker_id) FROM etl.batches WHERE worker_id LIKE 'storm-%'") == 3
        }

        var generator = SplitMix64(seed: 42)
        for _ in 0..<cycles {
            Thread.sleep(forTimeInterval: Double.random(in: 1.0...3.0, using: &generator))
            let slot = Int.random(in: 0..<3, using: &generator)
            if Bool.random(using: &generator) {
                FaultRig.sigkill(workers[slot])
            } else {
                #expect(
                    FaultRig.stop(workers[slot], stacksFile: rig.log + ".storm-\(slot).stacks") == 0,
                    "SIGTERM must leave cleanly; see \(rig.log).storm-\(slot)")
            }
            Thread.sleep(forTimeInterval: Double.random(in: 0.5...2.0, using: &generator))
            workers[slot] = try start(slot)
        }
        try rig.finish(producer: producer)
        for (slot, worker) in workers.enumerated() {
            #expect(
                FaultRig.stop(worker, stacksFile: rig.log + ".storm-\(slot).stacks") == 0,
                "SIGTERM must leave cleanly; see \(rig.log).storm-\(slot)")
        }
        try rig.drain()
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "rebalance storm (3 workers)", trials: cycles)
    }

    @Test("a zombie: SIGSTOPped past its session timeout, then SIGCONT; its late batch is refused by the fencing")
    func zombieIsFenced() async throws {
        let trials = FaultScale.pick(suite: 1, soak: 5)
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 4, soak: 16))
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("zombie")
        let rig = FaultRig(kafka: kafka, database: database, label: "zombie")
        // Runs until the zombie has been refused, then stops (SIGTERM: it flushes and exits 0).
        let producer = try rig.startProducer(count: 10_000_000, rate: 1000, seed: 51)
        defer { FaultRig.sigkill(producer) }
        // application_name tells the two workers' connections apart in pg_stat_activity.
        func start(_ name: String) throws -> Process {
            try PipelineBinary.start(
                [
                    "worker", "--brokers", kafka.brokers, "--topic", kafka.topic,
                    "--database", database.url + "?application_name=\(name)", "--max-message-bytes", "4000",
                    "--group", "zombies", "--worker-id", name, "--interval", "2s",
                    // One transaction per cycle: the hold below waits for exactly one UPDATE of etl.offsets.
                    "--connections", "1",
                ] + Self.groupProperties, logFile: rig.log + ".\(name)")
        }
        let zombie = try start("zombie-a")
        defer { FaultRig.sigkill(zombie) }
        try await waitUntil(seconds: 30) {
            try database.count("SELECT count(*) FROM etl.batches WHERE worker_id = 'zombie-a'") > 0
        }
        let survivor = try start("zombie-b")
        defer { FaultRig.sigkill(survivor) }
        try await waitUntil(seconds: 40) {
            try database.count("SELECT count(*) FROM etl.batches WHERE worker_id = 'zombie-b'") > 0
        }
        // The zombie's batch UPDATE of etl.offsets waits in a statement-level trigger while
        // public.zombie_hold says so: it has read nothing and locked no row yet, like a worker
        // paused between deciding to commit and committing.
        try database.connect().executeScript(
            """
            CREATE TABLE public.zombie_hold (hold boolean NOT NULL);
            INSERT INTO public.zombie_hold VALUES (false);
            CREATE FUNCTION public.hold_zombie() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                WHILE current_setting('application_name') = 'zombie-a' AND (SELECT hold FROM public.zombie_hold) LOOP
                    PERFORM pg_sleep(0.02);
                END LOOP;
                RETURN NULL;
            END $$;
            CREATE TRIGGER offsets_hold_zombie BEFORE UPDATE ON etl.offsets
                FOR EACH STATEMENT EXECUTE FUNCTION public.hold_zombie();
            """)
        let zombieLog = rig.log + ".zombie-a"
        func refusals() -> Int {
            ((try? String(contentsOfFile: zombieLog, encoding: .utf8)) ?? "").components(separatedBy: "batch refused")
                .count - 1
        }
        for trial in 0..<trials {
            try database.connect().execute("UPDATE public.zombie_hold SET hold = true")
            try await waitUntil(seconds: 30) {
                try database.count(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zombie-a' AND state = 'active' AND query LIKE 'UPDATE etl.offsets%'"
                ) == 1
            }
            // Paused inside its commit, past the session timeout: the group hands every partition
            // to the survivor, which loads them.
            kill(zombie.processIdentifier, SIGSTOP)
            let refusedBefore = refusals()
            try await waitUntil(seconds: 40) {
                try database.count(
                    "SELECT count(*) FROM etl.offsets WHERE topic = $1 AND updated_by = 'zombie-b' AND updated_at > now() - interval '1 second'",
                    [kafka.topic]) == Int(kafka.partitions)
            }
            try database.connect().execute("UPDATE public.zombie_hold SET hold = false")
            kill(zombie.processIdentifier, SIGCONT)
            // Its late batch meets offsets another worker moved: refused, rolled back.
            try await waitUntil(seconds: 30) { refusals() > refusedBefore }
            if trial + 1 < trials {
                // Back in the group with partitions of its own before the next pause.
                try await waitUntil(seconds: 40) {
                    try database.count(
                        "SELECT count(*) FROM etl.batches WHERE worker_id = 'zombie-a' AND committed_at > now() - interval '3 seconds'"
                    ) > 0
                }
            }
        }
        #expect(FaultRig.stop(producer) == 0, "see \(rig.log)")
        #expect(FaultRig.stop(zombie) == 0)
        #expect(FaultRig.stop(survivor) == 0)
        try rig.drain()
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "zombie (SIGSTOP past session timeout)", trials: trials)
    }
}
