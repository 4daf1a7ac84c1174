import Foundation
import TestSupport

/// Debian's `prometheus` and `promtool` (scripts/install-deps installs them).
enum PrometheusTools {
    static let prometheus = "/usr/bin/prometheus"
    static let promtool = "/usr/bin/promtool"
    static var installed: Bool {
        FileManager.default.isExecutableFile(atPath: prometheus)
            && FileManager.default.isExecutableFile(atPath: promtool)
    }
    static let missing = "prometheus/promtool not installed: run scripts/install-deps (Debian package prometheus)"

    /// `promtool check metrics` on `exposition`: its exit status and what it printed.
    static func checkMetrics(_ exposition: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }
}

/// A real Prometheus for one test: its own config, storage and free port on
/// 127.0.0.1, scraping the given targets every second. Stopped by `stop()`.
final class PrometheusServer {
    let port: Int
    let directory: String
    private let process: Process

    init(scraping targets: [String]) throws {
        port = try freePort()
        directory = NSTemporaryDirectory() + "prometheus-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: pipeline
                static_configs:
                  - targets: [\(targets.map { "'\($0)'" }.joined(separator: ", "))]
            """
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: PrometheusTools.prometheus)
        process.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var logFile: String { directory + "/prometheus.log" }

    /// Waits until its API answers.
    func waitUntilReady(seconds: Double = 30) async throws {
        try await waitUntil(seconds: seconds) {
            guard process.isRunning else {
                throw TestSetupError("prometheus exited with \(process.terminationStatus); see \(logFile)")
            }
            return HTTPGet.get(port: port, "/-/ready")?.status == 200
        }
    }

    /// The value of an instant query's single series, nil when it has none (not scraped yet).
    func query(_ expression: String) throws -> Double? {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        guard let response = HTTPGet.get(port: port, "/api/v1/query?query=\(encoded)"), response.status == 200,
            let json = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
            let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else { throw TestSetupError("Prometheus query \(expression) failed; see \(logFile)") }
        guard let first = result.first, let value = first["value"] as? [Any], let text = value.last as? String else {
            return nil
        }
        return Double(text)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        // The config and log stay (small) for a failed test to show; the TSDB goes.
        try? FileManager.default.removeItem(atPath: directory + "/data")
    }
}
