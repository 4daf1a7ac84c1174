import Foundation

/// A finished `pipeline` run: its exit status and what it printed to stdout.
struct PipelineOutput {
    var status: Int32
    var stdout: String

    /// Runs `pipeline ARGS...` to completion, capturing stdout; stderr goes to `logFile`.
    static func run(_ arguments: [String], logFile: String) throws -> PipelineOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try PipelineBinary.path())
        process.arguments = arguments
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        log.seekToEndOfFile()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = log
        try process.run()
        // Read before waiting: a full pipe would block the child.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return PipelineOutput(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self))
    }

    /// stdout parsed as one JSON object.
    func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw TestSetupError("stdout is not a JSON object: \(stdout.prefix(200))")
        }
        return object
    }
}
