import Foundation
import Logging
import PipelineCore
import PipelineIO
import RdKafka

/// A development Kafka for one test: librdkafka's mock cluster (real Kafka
/// protocol on localhost TCP, in memory) with one topic.
final class KafkaFixture {
    let cluster: RDKafkaMockCluster
    let topic: String
    let partitions: Int32

    init(brokers: Int = 3, partitions: Int32 = 4, topic: String = "events") throws {
        cluster = try RDKafkaMockCluster(brokers: brokers)
        self.topic = topic
        self.partitions = partitions
        try cluster.createTopic(topic, partitions: partitions, replicationFactor: Int32(min(brokers, 3)))
    }

    var brokers: String { cluster.bootstrapServers }

    /// Produces the messages keyed as given (into `partition` when given, else by key),
    /// waits for every delivery report.
    func produce(_ messages: [EventFactory.Message], partition: Int32? = nil) throws {
        let producer = try RDKafkaProducer(config: RDKafkaConfig(["bootstrap.servers": brokers, "linger.ms": "5"]))
        for message in messages {
            try withOptionalBytes(message.key) { key in
                try withOptionalBytes(message.value) { value in
                    try producer.produce(topic: topic, partition: partition, key: key, value: value)
                }
            }
        }
        try producer.flush(timeoutMs: 30_000)
        guard producer.failedCount == 0, producer.deliveredCount == messages.count else {
            throw TestSetupError(
                "produced \(messages.count), delivered \(producer.deliveredCount), failed \(producer.failedCount): \(String(describing: producer.lastDeliveryError))"
            )
        }
    }
}

func withOptionalBytes<T>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

/// Runs one in-process worker to completion (--available-now) or until stopped.
struct WorkerRun {
    var configuration: WorkerConfiguration
    var group: String?
    var databaseURL: String
    var brokers: String
    /// Lanes, each with a PostgreSQL connection of its own (`--connections`; 2 as in the command).
    var connections = 2
    /// Lets a test put something between the worker and a lane's sink (lane index, the real sink).
    var wrapSink: (@Sendable (Int, PostgresEventSink) -> any EventSink)?
    let stopSignal = StopSignal()

    init(kafka: KafkaFixture, database: TestDatabase, workerID: String = "test-worker", group: String? = nil) {
        configuration = WorkerConfiguration(topic: kafka.topic, workerID: workerID)
        configuration.availableNow = true
        configuration.intervalMs = 200
        configuration.limits.maxMessageBytes = 4_000
        self.group = group
        self.databaseURL = database.url
        self.brokers = kafka.brokers
    }

    func run() throws -> Worker.Summary {
        var logger = Logger(label: "test.\(configuration.workerID)")
        logger.logLevel =
            ProcessInfo.processInfo.environment["PIPELINE_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
            ?? .warning
        let source = KafkaEventSource(
            settings: .init(
                brokers: brokers, topic: configuration.topic, group: group, clientID: configuration.workerID,
                properties: group == nil ? [:] : ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
            logger: logger)
        let sinks = (0..<connections).map { lane -> any EventSink in
            let sink = PostgresEventSink(
                databaseURL: databaseURL, topic: configuration.topic, workerID: configuration.workerID, logger: logger)
            return wrapSink?(lane, sink) ?? sink
        }
        return try Worker(
            source: source, sinks: sinks, configuration: configuration, stopSignal: stopSignal, logger: logger
        ).run()
    }

    /// Runs on a thread of its own: the worker blocks, and blocking the
    /// cooperative pool (two threads on two cores) would starve other workers.
    func runDetached() -> WorkerThread { WorkerThread(self) }
}

/// One in-process worker on a dedicated thread; `value` awaits its summary.
final class WorkerThread: @unchecked Sendable {  // result is written once, before the semaphore signals
    private var result: Result<Worker.Summary, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ run: WorkerRun) {
        let thread = Thread { [self] in
            result = Result { try run.run() }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    var value: Worker.Summary {
        get async throws {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    self.done.wait()
                    self.done.signal()
                    continuation.resume()
                }
            }
            return try result!.get()
        }
    }
}
