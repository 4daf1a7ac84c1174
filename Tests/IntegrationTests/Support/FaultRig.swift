import Foundation

/// The real processes a fault test runs: `pipeline worker` and `pipeline
/// produce` binaries, logging to one file per test.
struct FaultRig {
    let kafka: KafkaFixture
    let database: TestDatabase
    let log: String

    init(kafka: KafkaFixture, database: TestDatabase, label: String) {
        self.kafka = kafka
        self.database = database
        log = NSTemporaryDirectory() + "pipeline-\(label)-\(database.name).log"
    }

    /// `pipeline worker` against this test's Kafka and database.
    func workerArguments(_ extra: [String] = []) -> [String] {
        [
            "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
            "--max-message-bytes", "4000",
        ] + extra
    }

    func startWorker(_ extra: [String] = []) throws -> Process {
        try PipelineBinary.start(workerArguments(extra), logFile: log)
    }

    /// `pipeline produce`, an independent process writing simulated traffic
    /// (with malformed messages) into the topic while faults happen.
    func startProducer(count: Int, rate: Int, seed: Int) throws -> Process {
        try PipelineBinary.start(
            [
                "produce", "--brokers", kafka.brokers, "--topic", kafka.topic, "--count", String(count), "--rate",
                String(rate), "--seed", String(seed), "--malformed-ratio", "0.02", "--max-message-bytes", "4000",
                // A producer that retries, as in production: copies take the dedup paths (the
                // worker's hints among them) through every fault.
                "--duplicate-ratio", "0.03",
                "--progress-interval", "60s",
            ], logFile: log)
    }

    /// Waits for the producer; it must have delivered every message.
    func finish(producer: Process, sourceLocation: String = #function) throws {
        producer.waitUntilExit()
        guard producer.terminationStatus == 0 else {
            throw TestSetupError("pipeline produce exited with \(producer.terminationStatus); see \(log)")
        }
    }

    /// Loads whatever is left with `--available-now` and expects exit 0.
    func drain(_ extra: [String] = ["--no-group"]) throws {
        let status = try PipelineBinary.run(workerArguments(extra + ["--available-now"]), logFile: log)
        guard status == 0 else {
            throw TestSetupError("the final --available-now run exited with \(status); see \(log)")
        }
    }

    /// SIGTERM, then waits up to `seconds` (SIGKILL after that, with the
    /// threads' stacks written to `stacksFile` when given and gdb is installed).
    @discardableResult
    static func stop(_ process: Process, seconds: Double = 30, stacksFile: String? = nil) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning, let stacksFile {
            let pid = process.processIdentifier
            var report = ""
            for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? [] {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
                report +=
                    task + " "
                    + status.split(separator: "\n").filter {
                        $0.hasPrefix("Name") || $0.hasPrefix("Sig") || $0.hasPrefix("ShdPnd")
                    }
                    .joined(separator: " | ") + "\n"
            }
            _ = FileManager.default.createFile(atPath: stacksFile, contents: Data(report.utf8))
        }
        if process.isRunning, let stacksFile, FileManager.default.isExecutableFile(atPath: "/usr/bin/gdb") {
            _ = try? PipelineBinary.runTool(
                "/usr/bin/gdb",
                ["-p", String(process.processIdentifier), "-batch", "-ex", "thread apply all bt"], logFile: stacksFile)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func sigkill(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The worker's log so far, for assertions on what it reported.
    func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Occurrences of `text` in the log.
    func logCount(_ text: String) -> Int { logText().components(separatedBy: text).count - 1 }
}

/// A process's peak resident set (VmHWM), in KiB, from /proc.
func peakResidentKiB(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
}
