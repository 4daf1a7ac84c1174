import EventContract
import EventGenerator
import Logging
import PipelineCore
import PipelineIO

/// Every value the commands take from a flag or a `PIPELINE_*` variable: its range and
/// its default, in one place. Defaults come from the configuration types they fill
/// (`WorkerConfiguration`, `GeneratorConfiguration`, `ContractLimits`), so each is
/// written once. Ranges bound what makes sense, and what stays clear of overflow.
enum Settings {
    private static let worker = WorkerConfiguration(topic: "events", workerID: "")
    private static let generator = GeneratorConfiguration()

    private static func duration(
        _ flag: String, _ variable: String?, milliseconds range: ClosedRange<Int>, default value: Int?
    ) -> Setting<Int> {
        Setting(
            flag: flag, variable: variable, parser: .duration(milliseconds: range), defaultValue: value,
            defaultText: value.map(ValueParser<Int>.formatDuration))
    }

    /// A whole number; the help shows its default as written.
    private static func integer<Value: FixedWidthInteger & Sendable>(
        _ flag: String, _ variable: String?, _ range: ClosedRange<Value>, expected: String? = nil,
        default value: Value?
    ) -> Setting<Value> {
        Setting(
            flag: flag, variable: variable, parser: .integer(range, expected: expected), defaultValue: value,
            defaultText: value.map { String($0) })
    }

    /// One of an enum's raw values.
    private static func choice<Value: RawRepresentable & CaseIterable & Sendable>(
        _ flag: String, _ variable: String, default value: Value
    ) -> Setting<Value> where Value.RawValue == String {
        Setting(
            flag: flag, variable: variable,
            parser: ValueParser<String>.choice(Value.allCases.map(\.rawValue)).map { Value(rawValue: $0) ?? value },
            defaultValue: value, defaultText: value.rawValue)
    }

    private static func ratio(_ flag: String, _ variable: String) -> Setting<Double> {
        Setting(
            flag: flag, variable: variable, parser: .decimal(0...1, expected: "a share from 0 to 1, e.g. 0.05"),
            defaultValue: 0, defaultText: "0")
    }

    // MARK: - Shared

    static let database = Setting<String>(
        flag: "--database", variable: "PIPELINE_DATABASE_URL", parser: .connectionString, defaultValue: nil,
        defaultText: nil, isSecret: true)
    static let brokers = Setting<String>(
        flag: "--brokers", variable: "PIPELINE_BROKERS",
        parser: .text(maxBytes: 4096, expected: "host:port[,host:port...], at most 4096 bytes"), defaultValue: nil,
        defaultText: nil)
    static let topic = Setting<String>(
        flag: "--topic", variable: "PIPELINE_TOPIC", parser: .kafkaName(kind: "topic"), defaultValue: "events",
        defaultText: "events")
    static let metricsPort = integer(
        "--metrics-port", "PIPELINE_METRICS_PORT", 0...65535, expected: "a TCP port from 1 to 65535, or 0 (disabled)",
        default: 9464)
    static let metricsHost = Setting<String>(
        flag: "--metrics-host", variable: "PIPELINE_METRICS_HOST",
        parser: .text(maxBytes: 255, expected: "an address to listen on, e.g. 0.0.0.0 or 127.0.0.1"),
        defaultValue: "0.0.0.0", defaultText: "0.0.0.0")

    // MARK: - worker

    static let group = Setting<String>(
        flag: "--group", variable: "PIPELINE_GROUP", parser: .kafkaName(kind: "group"), defaultValue: "pipeline",
        defaultText: "pipeline")
    static let interval = duration(
        "--interval", "PIPELINE_INTERVAL", milliseconds: 1...3_600_000, default: worker.intervalMs)
    static let maxBatchEvents = integer(
        "--max-batch-events", "PIPELINE_MAX_BATCH_EVENTS", 1...10_000_000, default: worker.maxBatchEvents)
    /// A lane's COPY buffer starts at a quarter of it (Worker), so the ceiling bounds memory too.
    static let maxBatchBytes = Setting<Int>(
        flag: "--max-batch-bytes", variable: "PIPELINE_MAX_BATCH_BYTES", parser: .byteSize(1 << 10...1 << 30),
        defaultValue: worker.maxBatchBytes, defaultText: ValueParser<Int>.formatBytes(worker.maxBatchBytes))
    /// More connections than cores buys nothing; 16 bounds the backends one worker holds.
    static let connections = integer(
        "--connections", "PIPELINE_CONNECTIONS", 1...16,
        expected: "a number of connections, which must be between 1 and 16", default: 2)
    static let startFrom = choice("--start-from", "PIPELINE_START_FROM", default: worker.startFrom)
    static let refreshInterval = Setting<RefreshInterval>(
        flag: "--refresh-interval", variable: "PIPELINE_REFRESH_INTERVAL", parser: .refreshInterval(),
        defaultValue: .every(milliseconds: 0),
        defaultText: "0s: after every cycle's batches, on a connection of its own")
    static let sessionInterval = duration(
        "--session-interval", "PIPELINE_SESSION_INTERVAL", milliseconds: 0...3_600_000,
        default: Int(AggregateRefresher.defaultSessionIntervalMs))
    static let maxMessageBytes = Setting<Int>(
        flag: "--max-message-bytes", variable: "PIPELINE_MAX_MESSAGE_BYTES", parser: .byteSize(1 << 10...256 << 20),
        defaultValue: ContractLimits().maxMessageBytes,
        defaultText: ValueParser<Int>.formatBytes(ContractLimits().maxMessageBytes))
    static let workerID = Setting<String>(
        flag: "--worker-id", variable: "PIPELINE_WORKER_ID",
        parser: .text(maxBytes: 255, expected: "a name of at most 255 bytes"), defaultValue: nil,
        defaultText: "host-pid")
    static let logLevel = choice("--log-level", "PIPELINE_LOG_LEVEL", default: Logger.Level.info)

    // MARK: - status

    static let maxIdle = duration(
        "--max-idle", "PIPELINE_MAX_IDLE", milliseconds: 1000...30 * 86_400_000, default: 120_000)

    // MARK: - produce

    static let rate = Setting<Double>(
        flag: "--rate", variable: "PIPELINE_PRODUCE_RATE",
        parser: .decimal(0...10_000_000, expected: "events per second from 0 (as fast as possible) to 10000000"),
        defaultValue: 1000, defaultText: "1000")
    static let count = integer("--count", nil, 1...1_000_000_000_000, default: nil)
    static let produceDuration = duration("--duration", nil, milliseconds: 1...30 * 86_400_000, default: nil)
    static let seed = integer("--seed", "PIPELINE_PRODUCE_SEED", 0...UInt64.max, default: generator.seed)
    static let malformedRatio = ratio("--malformed-ratio", "PIPELINE_PRODUCE_MALFORMED_RATIO")
    static let lateRatio = ratio("--late-ratio", "PIPELINE_PRODUCE_LATE_RATIO")
    static let duplicateRatio = ratio("--duplicate-ratio", "PIPELINE_PRODUCE_DUPLICATE_RATIO")
    static let conflictRatio = ratio("--conflict-ratio", "PIPELINE_PRODUCE_CONFLICT_RATIO")
    static let users = integer("--users", nil, 1...1_000_000_000, default: generator.users)
    static let produceMaxMessageBytes = Setting<Int>(
        flag: "--max-message-bytes", variable: nil, parser: maxMessageBytes.parser,
        defaultValue: generator.maxMessageBytes,
        defaultText: ValueParser<Int>.formatBytes(generator.maxMessageBytes))
    static let sessionIDs = integer(
        "--session-ids", "PIPELINE_PRODUCE_SESSION_IDS", 0...1_000_000_000,
        expected: "a number of session ids from 0 (one per session) to 1000000000", default: generator.sessionIDs)
    static let userDraw = choice("--user-draw", "PIPELINE_PRODUCE_USER_DRAW", default: generator.userDraw)
    static let eventTimeSpan = duration(
        "--event-time-span", "PIPELINE_PRODUCE_EVENT_TIME_SPAN", milliseconds: 1...30 * 86_400_000, default: nil)
    static let progressInterval = duration(
        "--progress-interval", nil, milliseconds: 100...3_600_000, default: 5_000)
    static let funnel = Setting<String>(
        flag: "--funnel", variable: nil,
        parser: .text(maxBytes: 1024, expected: "KEY=NUMBER pairs separated by commas"), defaultValue: nil,
        defaultText: nil)

    // MARK: - dev-kafka

    static let devBrokers = integer("--brokers", nil, 1...32, default: 3)
    static let devPartitions = integer("--partitions", nil, 1...10_000, default: Int32(8))
    /// The topic it creates: the flag only, with the other commands' default.
    static let devTopic = Setting<String>(
        flag: "--topic", variable: nil, parser: topic.parser, defaultValue: topic.defaultValue,
        defaultText: topic.defaultText)
    static let bootstrapFile = Setting<String>(
        flag: "--bootstrap-file", variable: nil, parser: path, defaultValue: KafkaOptions.bootstrapFile,
        defaultText: KafkaOptions.bootstrapFile)

    // MARK: - migrate, refresh

    static let migrations = Setting<String>(
        flag: "--migrations", variable: nil, parser: path, defaultValue: nil, defaultText: nil)
    static let from = Setting<String>(
        flag: "--from", variable: nil, parser: timestamp, defaultValue: nil, defaultText: nil)
    static let to = Setting<String>(flag: "--to", variable: nil, parser: timestamp, defaultValue: nil, defaultText: nil)

    private static let path = ValueParser<String>.text(maxBytes: 4096, expected: "a path of at most 4096 bytes")
    /// PostgreSQL's own error would quote a bad timestamp whole, so its length is bounded here.
    private static let timestamp = ValueParser<String>.text(
        maxBytes: 64, expected: "a PostgreSQL timestamptz of at most 64 bytes, e.g. 2026-11-24T00:00Z")
}

extension ValueParser where Value == String {
    /// A libpq connection string or URI, parsed by libpq itself (so never quoted in the error).
    static var connectionString: ValueParser {
        ValueParser(expected: "a postgresql:// URI or key=value pairs, as libpq reads them") {
            text throws(ParseFailure) in
            try screen(text, maxBytes: 8192)
            if case .invalid(let reason) = DatabaseURL.check(text) {
                throw ParseFailure(code: .malformed, detail: reason)
            }
            return text
        }
    }
}
