import Foundation

/// How big a fault test runs: scaled down in `scripts/test` (each test well
/// under a minute), full size in `scripts/soak` (PIPELINE_SOAK=1).
enum FaultScale {
    static var isSoak: Bool { ProcessInfo.processInfo.environment["PIPELINE_SOAK"] == "1" }

    /// `suite` in scripts/test, `soak` under scripts/soak.
    static func pick<T>(suite: T, soak: T) -> T { isSoak ? soak : suite }
}

/// One line of the soak table: a fault, how often it was injected, what was
/// loaded and what was lost or duplicated. Appended (tab-separated) to the
/// file PIPELINE_FAULT_REPORT names, when set; `scripts/soak` prints them.
enum FaultReport {
    static func record(fault: String, trials: Int, events: Int, lost: Int, duplicated: Int) {
        guard let path = ProcessInfo.processInfo.environment["PIPELINE_FAULT_REPORT"], !path.isEmpty else { return }
        let line = "\(fault)\t\(trials)\t\(events)\t\(lost)\t\(duplicated)\n"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try? handle.close()
    }
}

extension FaultReport {
    /// A free-form line for the soak output (a measured figure), in PIPELINE_FAULT_NOTES.
    static func note(_ text: String) {
        guard let path = ProcessInfo.processInfo.environment["PIPELINE_FAULT_NOTES"], !path.isEmpty else { return }
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        handle.seekToEndOfFile()
        handle.write(Data((text + "\n").utf8))
        try? handle.close()
    }
}
