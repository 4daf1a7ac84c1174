import Foundation
import Testing

/// Every flag and `PIPELINE_*` variable of every command, set to each hostile value,
/// through the built binary: one line naming the setting, exit 64, no signal, and
/// nothing written to PostgreSQL or Kafka. The rest of each command line is valid
/// and would load, produce or run if the hostile value were let through.
@Suite("security: hostile flag and variable values are refused with one line and exit 64")
struct HostileSettingsTests {
    enum Kind {
        /// A number, duration, size or choice: every hostile value is refused.
        case number
        /// Same, except that 0 is a meaningful value here (a port of 0, a ratio of 0, ...).
        case numberWithZero
        /// Free text (a path, a name, a URL): only empty, control characters and 100 KB are refused.
        case text
    }

    struct Case: CustomStringConvertible {
        var command: String
        /// The flag under test, or nil when the variable is.
        var flag: String?
        var variable: String?
        var kind: Kind
        /// For a variable: the flag that would win over it, left off the command line.
        var replaces: String?
        /// Values that are valid for this setting (a seed takes any UInt64).
        var accepts: Set<String> = []
        /// Values hostile to this setting only (UInt64 overflow for a seed).
        var extra: [String] = []
        var description: String { "\(command) \(flag ?? variable ?? "?")" }
    }

    static let hundredKilobytes = String(repeating: "9", count: 102_400)

    /// NUL cannot travel through execve (argv and environ are C strings, so `1\0` arrives as
    /// `1`); ValueParserTests covers it in process.
    static let numberValues = [
        "-1", "0", "inf", "nan", "1e309", "1e300s", "9223372036854775808", "99999999999999999999h", "99999999999GiB",
        "", "\u{0661}\u{0662}", "1\u{1B}[2J", hundredKilobytes,
    ]
    static let textValues = ["", "a\u{1B}]0;owned\u{7}", "a\nb", String(repeating: "a", count: 102_400)]

    static let cases: [Case] = {
        var cases: [Case] = []
        func add(
            _ command: String, _ flag: String, _ variable: String?, _ kind: Kind, accepts: Set<String> = [],
            extra: [String] = []
        ) {
            cases.append(
                Case(command: command, flag: flag, variable: nil, kind: kind, accepts: accepts, extra: extra))
            if let variable {
                cases.append(
                    Case(
                        command: command, flag: nil, variable: variable, kind: kind, replaces: flag, accepts: accepts,
                        extra: extra))
            }
        }
        for command in ["worker", "status", "produce"] {
            add(command, "--brokers", "PIPELINE_BROKERS", .text)
            add(command, "--topic", "PIPELINE_TOPIC", .text)
            add(command, "--kafka-property", "PIPELINE_KAFKA_PROPERTIES", .text)
        }
        for command in ["worker", "status", "migrate", "refresh"] {
            add(command, "--database", "PIPELINE_DATABASE_URL", .text)
        }
        add("worker", "--interval", "PIPELINE_INTERVAL", .number)
        add("worker", "--max-batch-events", "PIPELINE_MAX_BATCH_EVENTS", .number)
        add("worker", "--max-batch-bytes", "PIPELINE_MAX_BATCH_BYTES", .number)
        add("worker", "--connections", "PIPELINE_CONNECTIONS", .number)
        add("worker", "--start-from", "PIPELINE_START_FROM", .number)
        add("worker", "--refresh-interval", "PIPELINE_REFRESH_INTERVAL", .numberWithZero)
        add("worker", "--session-interval", "PIPELINE_SESSION_INTERVAL", .numberWithZero)
        add("worker", "--max-message-bytes", "PIPELINE_MAX_MESSAGE_BYTES", .number)
        add("worker", "--log-level", "PIPELINE_LOG_LEVEL", .number)
        add("worker", "--metrics-port", "PIPELINE_METRICS_PORT", .numberWithZero)
        add("worker", "--metrics-host", "PIPELINE_METRICS_HOST", .text)
        add("worker", "--worker-id", "PIPELINE_WORKER_ID", .text)
        add("worker", "--group", "PIPELINE_GROUP", .text)
        add("status", "--max-idle", "PIPELINE_MAX_IDLE", .number)
        add("produce", "--rate", "PIPELINE_PRODUCE_RATE", .numberWithZero)
        add("produce", "--count", nil, .number)
        add("produce", "--duration", nil, .number)
        add(
            "produce", "--seed", "PIPELINE_PRODUCE_SEED", .numberWithZero, accepts: ["9223372036854775808"],
            extra: ["18446744073709551616"])
        add("produce", "--malformed-ratio", "PIPELINE_PRODUCE_MALFORMED_RATIO", .numberWithZero)
        add("produce", "--late-ratio", "PIPELINE_PRODUCE_LATE_RATIO", .numberWithZero)
        add("produce", "--duplicate-ratio", "PIPELINE_PRODUCE_DUPLICATE_RATIO", .numberWithZero)
        add("produce", "--conflict-ratio", "PIPELINE_PRODUCE_CONFLICT_RATIO", .numberWithZero)
        add("produce", "--users", nil, .number)
        add("produce", "--max-message-bytes", nil, .number)
        add("produce", "--progress-interval", nil, .number)
        add("produce", "--funnel", nil, .text)
        add("produce", "--session-ids", "PIPELINE_PRODUCE_SESSION_IDS", .numberWithZero)
        add("produce", "--user-draw", "PIPELINE_PRODUCE_USER_DRAW", .number)
        add("produce", "--event-time-span", "PIPELINE_PRODUCE_EVENT_TIME_SPAN", .number)
        add("dev-kafka", "--brokers", nil, .number)
        add("dev-kafka", "--partitions", nil, .number)
        add("dev-kafka", "--topic", nil, .text)
        add("dev-kafka", "--bootstrap-file", nil, .text)
        add("migrate", "--migrations", nil, .text)
        add("refresh", "--from", nil, .text)
        add("refresh", "--to", nil, .text)
        return cases
    }()

    /// A command line that works: each flag with a value that would load, produce or serve.
    static func validArguments(_ command: String, database: String, kafka: KafkaFixture, scratch: String)
        -> [(String, String?)]
    {
        let kafkaFlags: [(String, String?)] = [("--brokers", kafka.brokers), ("--topic", kafka.topic)]
        switch command {
        case "worker":
            return kafkaFlags + [("--database", database), ("--no-group", nil), ("--available-now", nil)]
        case "status": return kafkaFlags + [("--database", database)]
        case "produce": return kafkaFlags + [("--count", "5"), ("--rate", "0")]
        case "dev-kafka": return [("--bootstrap-file", scratch + "/bootstrap")]
        case "migrate": return [("--database", database)]
        case "refresh":
            return [("--database", database), ("--rebuild", nil), ("--from", "2026-01-01"), ("--to", "2026-01-02")]
        default: return []
        }
    }

    struct Outcome {
        var label: String
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        var output: String
    }

    @Test("every numeric, duration, size, choice and text setting of every command, by flag and by variable")
    func everySettingRefused() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("hostile_settings")
        var factory = EventFactory(seed: 5)
        try kafka.produce(factory.messages(count: 20, malformedEvery: 0))
        let producedBefore = try kafka.watermarks().map(\.high)
        let scratch = NSTemporaryDirectory() + "hostile-settings-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        var runs: [(label: String, arguments: [String], environment: [String: String], setting: String)] = []
        for testCase in Self.cases {
            var values: [String]
            switch testCase.kind {
            case .number: values = Self.numberValues
            case .numberWithZero: values = Self.numberValues.filter { $0 != "0" }
            case .text: values = Self.textValues
            }
            // An empty variable counts as unset (documented), so it is no hostile value there.
            if testCase.variable != nil { values.removeAll { $0.isEmpty } }
            values.removeAll { testCase.accepts.contains($0) }
            values += testCase.extra
            let name = testCase.flag ?? testCase.variable!
            let base = Self.validArguments(testCase.command, database: database.url, kafka: kafka, scratch: scratch)
            for value in values {
                var arguments = [testCase.command]
                var environment: [String: String] = [:]
                // A variable is read only when its flag is absent: drop the flag it stands for.
                for (flag, flagValue) in base where flag != testCase.flag && flag != testCase.replaces {
                    arguments.append(flag)
                    if let flagValue { arguments.append(flagValue) }
                }
                if let flag = testCase.flag {
                    // A value starting with "-" would be read as the next option: --flag=-1, as a user writes it.
                    arguments += value.hasPrefix("-") ? [flag + "=" + value] : [flag, value]
                } else {
                    environment[testCase.variable!] = value
                }
                runs.append(("\(testCase) = \(value.debugDescription.prefix(30))", arguments, environment, name))
            }
        }

        let outcomes = try Self.runConcurrently(runs.map { ($0.label, $0.arguments, $0.environment) })
        var failures: [String] = []
        for (run, outcome) in zip(runs, outcomes) {
            let lines = outcome.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            var problems: [String] = []
            if outcome.timedOut { problems.append("still running after the timeout (the value was let through)") }
            if outcome.signalled { problems.append("killed by signal \(outcome.status)") }
            if !outcome.timedOut && !outcome.signalled && outcome.status != 64 {
                problems.append("exit \(outcome.status), not 64")
            }
            if lines.count != 1 { problems.append("\(lines.count) lines, not one") }
            if !outcome.output.hasPrefix("Error: ") { problems.append("no 'Error: ' prefix") }
            if !outcome.output.contains(run.setting) { problems.append("does not name \(run.setting)") }
            if outcome.output.utf8.count > 700 { problems.append("\(outcome.output.utf8.count) bytes of output") }
            if outcome.output.dropLast().unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                problems.append("control characters printed raw")
            }
            if !problems.isEmpty {
                failures.append("\(run.label): \(problems.joined(separator: "; "))\n    \(outcome.output.prefix(300))")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(runs.count) runs:\n\(failures.joined(separator: "\n"))")
        // Nothing reached PostgreSQL or Kafka.
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 0)
        #expect(try database.count("SELECT count(*) FROM etl.offsets") == 0)
        #expect(try database.count("SELECT count(*) FROM etl.rebuild_requests") == 0)
        #expect(try kafka.watermarks().map(\.high) == producedBefore)
    }

    /// Runs the binary once per entry, eight at a time (mostly process start-up), each
    /// killed after 20 s: a value let through shows as a timeout, not a hung suite.
    static func runConcurrently(_ runs: [(label: String, arguments: [String], environment: [String: String])])
        throws -> [Outcome]
    {
        let binary = try PipelineBinary.path()
        let results = OutcomeList(count: runs.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 8
        for (index, run) in runs.enumerated() {
            queue.addOperation {
                results.set(index, Self.runOne(binary, run.label, run.arguments, run.environment))
            }
        }
        queue.waitUntilAllOperationsAreFinished()
        return results.all
    }

    static func runOne(_ binary: String, _ label: String, _ arguments: [String], _ environment: [String: String])
        -> Outcome
    {
        do {
            let run = try PipelineBinary.capture(binary, arguments, environment: environment, killAfterSeconds: 20)
            return Outcome(
                label: label, status: run.status, signalled: run.signalled, timedOut: run.timedOut, output: run.output)
        } catch {
            return Outcome(label: label, status: -1, signalled: false, timedOut: false, output: "\(error)")
        }
    }
}

/// Results written by the worker operations, read once they are all done.
private final class OutcomeList: @unchecked Sendable {  // every access under the lock
    private let lock = NSLock()
    private var outcomes: [HostileSettingsTests.Outcome?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ outcome: HostileSettingsTests.Outcome) { lock.withLock { outcomes[index] = outcome } }

    var all: [HostileSettingsTests.Outcome] {
        lock.withLock {
            outcomes.map { $0 ?? .init(label: "?", status: -1, signalled: false, timedOut: false, output: "") }
        }
    }
}
