import EventGenerator
import Foundation
import LibPQ
import Testing

@Suite("faults: PostgreSQL connections killed and the server restarted mid-load", .serialized)
struct DatabaseFaultTests {
    /// Where in the batch's life a backend is killed.
    enum KillPoint: String, CaseIterable {
        case duringCopy = "during COPY"
        case duringCommit = "during COMMIT"
        case inTransaction = "between statements of the transaction"
        case anywhere = "anywhere"

        var condition: String {
            switch self {
            case .duringCopy: return "state = 'active' AND query LIKE 'COPY %'"
            case .duringCommit: return "state = 'active' AND query = 'COMMIT'"
            case .inTransaction: return "state = 'idle in transaction'"
            case .anywhere: return "true"
            }
        }
    }

    @Test("pg_terminate_backend inside COPY, during COMMIT and between statements, and pg_ctl restart -m fast")
    func connectionKillsAndRestart() throws {
        defer { PrivateCluster.ensureRunning() }
        let rounds = FaultScale.pick(suite: 3, soak: 10)
        let restarts = FaultScale.pick(suite: 1, soak: 3)
        // ~330 bytes an event: 16 partitions keep each under the mock cluster's 5 MiB retention.
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 4, soak: 16))
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("pgfault")
        // COMMIT runs a deferred trigger that takes 100 ms, so a kill can land inside it.
        try database.connect().executeScript(
            """
            CREATE FUNCTION public.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER batches_slow_commit AFTER INSERT ON etl.batches
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.slow_commit();
            """)
        let rig = FaultRig(kafka: kafka, database: database, label: "pgfault")
        // Writes until every fault has been injected and survived, then stops (SIGTERM: it flushes, exits 0).
        let producer = try rig.startProducer(count: 10_000_000, rate: 1000, seed: 21)
        defer { FaultRig.sigkill(producer) }
        let worker = try rig.startWorker(["--no-group", "--max-batch-events", "400", "--interval", "200ms"])
        defer { FaultRig.sigkill(worker) }

        var kills: [KillPoint: Int] = [:]
        var trials = 0
        var admin = try database.connect()
        /// Each fault must be followed by a committed batch: the worker reconnected and went on.
        func waitForProgress(after fault: String) throws {
            let before = try admin.execute("SELECT count(*) FROM etl.batches").int64(0, 0) ?? 0
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if (try admin.execute("SELECT count(*) FROM etl.batches").int64(0, 0) ?? 0) > before { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            Issue.record("no batch committed within 60 s after \(fault); see \(rig.log)")
        }
        for round in 0..<rounds {
            for point in KillPoint.allCases {
                // Poll until a backend of the worker is at that point, then kill it there.
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    let killed =
                        try admin.execute(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND \(point.condition)",
                            [database.name]
                        ).int64(0, 0) ?? 0
                    if killed > 0 {
                        kills[point, default: 0] += 1
                        trials += 1
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.002)
                }
                try waitForProgress(after: "a kill \(point.rawValue)")
            }
            if round < restarts {
                try PrivateCluster.restart()
                trials += 1
                admin = try database.connect()
                try waitForProgress(after: "pg_ctl restart")
            }
        }
        #expect(worker.isRunning, "the worker gave up; see \(rig.log)")
        #expect(FaultRig.stop(producer) == 0, "see \(rig.log)")
        // SIGTERM: the in-flight batch commits, exit 0; then load what is left.
        #expect(FaultRig.stop(worker) == 0, "see \(rig.log)")
        try rig.drain()

        for point in [KillPoint.duringCopy, .duringCommit, .anywhere] {
            #expect(
                kills[point, default: 0] >= rounds, "killed \(point.rawValue) only \(kills[point, default: 0]) time(s)")
        }
        #expect(rig.logCount("retrying") >= rounds, "the worker never reported a retry; see \(rig.log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "PostgreSQL connection kill + restart", trials: trials)
    }
}
