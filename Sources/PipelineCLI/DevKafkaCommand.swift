import ArgumentParser
import Foundation
import Logging
import PipelineCore
import RdKafka

/// `pipeline dev-kafka`: librdkafka's mock cluster as a development broker.
struct DevKafkaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-kafka",
        abstract: "Host a development Kafka (librdkafka's mock cluster) until SIGINT/SIGTERM.",
        discussion: """
            Real Kafka protocol on localhost TCP, in memory: nothing survives a restart. librdkafka 2.0.2's mock \
            keeps at most 5 MiB of record batches per partition and drops the oldest past that, so a worker \
            that falls far behind loses data (recorded in etl.gaps). For development and tests, not production.
            """)

    @Option(help: "Number of brokers.")
    var brokers = 3

    @Option(help: "Partitions of the topic.")
    var partitions: Int32 = 8

    @Option(help: "The topic to create.")
    var topic = "events"

    @Option(help: ArgumentHelp("Write the bootstrap list here, for the other commands to find.", valueName: "PATH"))
    var bootstrapFile = KafkaOptions.bootstrapFile

    func run() throws {
        let cluster = try RDKafkaMockCluster(brokers: brokers)
        try cluster.createTopic(topic, partitions: partitions, replicationFactor: Int32(min(brokers, 3)))
        let bootstrap = cluster.bootstrapServers
        let directory = (bootstrapFile as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        try (bootstrap + "\n").write(toFile: bootstrapFile, atomically: true, encoding: .utf8)
        // Unbuffered: scripts wait for these lines on a pipe.
        FileHandle.standardOutput.write(
            Data(
                """
                development Kafka up: \(brokers) broker(s), topic \(topic) with \(partitions) partition(s)
                bootstrap: \(bootstrap)  (written to \(bootstrapFile))

                """.utf8))

        let stopSignal = StopSignal()
        let signalSources = SignalHandling.install(stopSignal: stopSignal, logger: Logger(label: "pipeline.dev-kafka"))
        defer { signalSources.forEach { $0.cancel() } }
        while !stopSignal.isStopRequested { WallClock.sleep(milliseconds: 200) }
        try? FileManager.default.removeItem(atPath: bootstrapFile)
        withExtendedLifetime(cluster) {}
        print("development Kafka stopped")
    }
}
