import ArgumentParser
import Foundation

/// The only place that reads the process environment. Flags win over it.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The flag's value, else the variable's (parsed like the flag), else the default.
    static func resolve<T: ExpressibleByArgument>(_ flag: T?, _ variable: String, default fallback: T) throws -> T {
        if let flag { return flag }
        guard let text = value(variable) else { return fallback }
        guard let parsed = T(argument: text) else {
            throw ValidationError("\(variable)='\(text)' is not a valid value")
        }
        return parsed
    }
}
