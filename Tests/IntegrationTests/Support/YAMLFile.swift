import Foundation

/// YAML read by Debian's python3-yaml (scripts/install-deps installs it) and handed
/// over as JSON: the compose and Prometheus files are checked as a YAML parser sees
/// them, with no YAML library in the Swift build.
enum YAMLFile {
    static let python = "/usr/bin/python3"

    static var available: Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        return (try? run(["-c", "import yaml"]).status) == 0
    }
    static let missing = "/usr/bin/python3 with the yaml module is missing: run scripts/install-deps (python3-yaml)"

    /// The document at `path` (relative to the repository root), as Foundation objects.
    static func load(_ path: String) throws -> Any {
        let script = "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"
        let result = try run(["-c", script, repositoryRoot + "/" + path])
        guard result.status == 0 else { throw TestSetupError("\(path) is not valid YAML: \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8), options: [.fragmentsAllowed])
    }

    private static func run(_ arguments: [String]) throws -> PipelineBinary.Captured {
        try PipelineBinary.capture(python, arguments)
    }
}
