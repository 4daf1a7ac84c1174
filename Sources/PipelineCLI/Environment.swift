import Foundation

/// The only place that reads the process environment. Flags win over it.
enum Environment {
    /// The variable's value; an empty variable counts as unset (as `${VAR:-}` in compose files leaves it).
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
