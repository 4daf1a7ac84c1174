import Foundation

/// The built `pipeline` executable, run the way a user runs it.
enum PipelineBinary {
    static func path() throws -> String {
        if let path = ProcessInfo.processInfo.environment["PIPELINE_BINARY"],
            FileManager.default.isExecutableFile(atPath: path)
        {
            return path
        }
        let guess = repositoryRoot + "/.build/debug/pipeline"
        guard FileManager.default.isExecutableFile(atPath: guess) else {
            throw TestSetupError(
                "the pipeline binary is not built: run the suite through scripts/test (PIPELINE_BINARY)")
        }
        return guess
    }

    /// Starts `pipeline ARGS...`, its output appended to `logFile`.
    static func start(_ arguments: [String], logFile: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// Runs another program to completion, output appended to `logFile`; returns its exit status.
    static func runTool(_ path: String, _ arguments: [String], logFile: String) throws -> Int32 {
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// How a program ended, and everything it printed (stdout and stderr together).
    struct Captured {
        var status: Int32
        var output: String
        /// Killed by a signal it did not handle (`status` is the signal), not by the timeout.
        var signalled = false
        /// Still running after `killAfterSeconds`, then killed.
        var timedOut = false
    }

    /// Runs a program to completion; with `killAfterSeconds`, SIGKILLs it then (not SIGTERM: a
    /// worker would stop gracefully and exit 0, hiding that it ran at all).
    static func capture(
        _ path: String, _ arguments: [String], environment: [String: String] = [:], killAfterSeconds: Double? = nil
    ) throws -> Captured {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let timedOut = OnceFlag()
        let pid = process.processIdentifier
        let timer = DispatchWorkItem {
            timedOut.set()
            kill(pid, SIGKILL)
        }
        if let killAfterSeconds {
            DispatchQueue.global().asyncAfter(deadline: .now() + killAfterSeconds, execute: timer)
        }
        // Read before waiting: a full pipe would block the child.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        timer.cancel()
        return Captured(
            status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
            signalled: process.terminationReason == .uncaughtSignal && !timedOut.isSet, timedOut: timedOut.isSet)
    }

    /// Runs `pipeline ARGS...` to completion; returns its exit status.
    static func run(_ arguments: [String], logFile: String) throws -> Int32 {
        let process = try start(arguments, logFile: logFile)
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Produces messages with kcat, an independent Kafka client (Debian's package).
enum Kcat {
    static let messageDelimiter: [UInt8] = [0x01, 0x02, 0x03, 0x04]
    static let keyDelimiter: [UInt8] = [0x05, 0x06]

    static func produce(_ messages: [EventFactory.Message], brokers: String, topic: String) throws {
        var file: [UInt8] = []
        for message in messages {
            file += message.key ?? []
            file += keyDelimiter
            file += message.value ?? []  // empty + -Z: a NULL value (tombstone)
            file += messageDelimiter
        }
        let path = NSTemporaryDirectory() + "kcat-\(UUID().uuidString).bin"
        try Data(file).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = [
            "-P", "-b", brokers, "-t", topic, "-K", "\\x05\\x06", "-D", "\\x01\\x02\\x03\\x04", "-Z", "-l", path,
            "-X", "message.max.bytes=2000000",
        ]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError("kcat exited with \(process.terminationStatus)")
        }
    }
}

/// Set once (by a timer), read after the process ended.
final class OnceFlag: @unchecked Sendable {  // one Bool under a lock
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
