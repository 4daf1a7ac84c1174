import ArgumentParser
import Foundation
import Logging
import PipelineCore
import PipelineIO

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

    @Option(name: .customLong("brokers"), help: Settings.devBrokers.help("Number of brokers", valueName: "N"))
    var brokersFlag: String?

    @Option(
        name: .customLong("partitions"), help: Settings.devPartitions.help("Partitions of the topic", valueName: "N"))
    var partitionsFlag: String?

    @Option(name: .customLong("topic"), help: ArgumentHelp("The topic to create (default: events).", valueName: "NAME"))
    var topicFlag: String?

    @Option(
        name: .customLong("bootstrap-file"),
        help: Settings.bootstrapFile.help(
            "Write the bootstrap list here, for the other commands to find", valueName: "PATH"))
    var bootstrapFileFlag: String?

    func run() throws {
        let brokers = try Settings.devBrokers.resolve(brokersFlag)
        let partitions = try Settings.devPartitions.resolve(partitionsFlag)
        let topic = try Settings.devTopic.resolve(topicFlag)
        let bootstrapFile = try Settings.bootstrapFile.resolve(bootstrapFileFlag)
        let cluster = try DevelopmentKafka(brokers: brokers, topic: topic, partitions: partitions)
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
