import Foundation
import RdKafka
import Testing

@Suite("faults: Kafka brokers down, request errors and leader changes (mock cluster)", .serialized)
struct KafkaFaultTests {
    @Test("broker down and up, errors on Fetch/JoinGroup/SyncGroup/Heartbeat/OffsetCommit, leader changes")
    func brokerFaults() async throws {
        let rounds = FaultScale.pick(suite: 1, soak: 5)
        // ~330 bytes an event at 1000/s: enough partitions to stay under the mock's 5 MiB each.
        let kafka = try KafkaFixture(brokers: 3, partitions: FaultScale.pick(suite: 6, soak: 24))
        defer { withExtendedLifetime(kafka) {} }
        let cluster = kafka.cluster
        let database = try TestDatabase.migrated("kafkafault")
        let rig = FaultRig(kafka: kafka, database: database, label: "kafkafault")
        // Writes until every fault has been injected, then stops (SIGTERM: it flushes and exits 0).
        let producer = try rig.startProducer(count: 10_000_000, rate: 1000, seed: 31)
        defer { FaultRig.sigkill(producer) }
        // A group member, so the group protocol's requests are exercised too.
        let worker = try rig.startWorker([
            "--group", "kafka-faults", "--max-batch-events", "500", "--interval", "300ms",
            "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=500",
        ])
        defer { FaultRig.sigkill(worker) }
        try await waitUntil(seconds: 30) { try database.count("SELECT count(*) FROM etl.batches") > 0 }

        var trials = 0
        func loadedBatches() throws -> Int { try database.count("SELECT count(*) FROM etl.batches") }
        /// The worker must keep committing after each fault.
        func expectProgress(after fault: String) async throws {
            let before = try loadedBatches()
            do {
                try await waitUntil(seconds: 40) { try loadedBatches() > before }
            } catch {
                Issue.record("no batch committed within 40 s after \(fault); see \(rig.log)")
            }
        }
        for _ in 0..<rounds {
            cluster.pushRequestErrors(
                .fetch, [.notLeaderForPartition, .unknownTopicOrPartition, .transport, .requestTimedOut])
            try await expectProgress(after: "Fetch errors")
            cluster.pushRequestErrors(.heartbeat, [.rebalanceInProgress, .notCoordinator, .transport])
            cluster.pushRequestErrors(.offsetCommit, [.requestTimedOut, .notCoordinator, .transport])
            try await expectProgress(after: "Heartbeat and OffsetCommit errors")
            cluster.pushRequestErrors(.joinGroup, [.coordinatorLoadInProgress, .notCoordinator])
            cluster.pushRequestErrors(.syncGroup, [.rebalanceInProgress, .notCoordinator])
            // Force a rejoin: the heartbeat says a rebalance is under way.
            cluster.pushRequestErrors(.heartbeat, [.rebalanceInProgress])
            try await expectProgress(after: "JoinGroup and SyncGroup errors")
            // One broker in the suite (a rejoin can take ~20 s when it was the group's coordinator).
            for broker in FaultScale.pick(suite: [Int32(2)], soak: [1, 2, 3]) {
                try cluster.setBrokerDown(broker)
                try await Task.sleep(for: .seconds(1))
                try cluster.setBrokerUp(broker)
                try await expectProgress(after: "broker \(broker) down and up")
            }
            for partition in Int32(0)..<kafka.partitions {
                try cluster.setPartitionLeader(
                    topic: kafka.topic, partition: partition, broker: (partition + Int32(trials)) % 3 + 1)
            }
            try await expectProgress(after: "leader changes")
            trials += 5 + FaultScale.pick(suite: 1, soak: 3) + 1
        }
        #expect(worker.isRunning, "the worker exited; see \(rig.log)")
        #expect(FaultRig.stop(producer) == 0, "see \(rig.log)")
        #expect(FaultRig.stop(worker) == 0, "see \(rig.log)")
        try rig.drain()
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "Kafka broker down, request errors, leader changes", trials: trials)
    }
}
