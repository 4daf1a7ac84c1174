import ArgumentParser

/// One configurable value: its flag, its environment variable, what it accepts and
/// its default, written once and used for parsing, errors and the help text alike.
/// The flag wins over the variable; an empty variable counts as unset.
struct Setting<Value: Sendable>: Sendable {
    let flag: String
    let variable: String?
    let parser: ValueParser<Value>
    /// nil: the setting is optional (absent means "not given").
    let defaultValue: Value?
    /// The default as the help text shows it (`1s`, `64MiB`, `host-pid`).
    let defaultText: String?
    /// A value that may hold a password is never printed, not even in an error.
    var isSecret = false

    /// The help line: purpose, variable, default and what is accepted.
    func help(_ purpose: String, valueName: String) -> ArgumentHelp {
        var notes: [String] = []
        if let variable { notes.append("env: \(variable)") }
        if let defaultText { notes.append("default \(defaultText)") }
        notes.append(parser.expected)
        return ArgumentHelp(purpose + " (" + notes.joined(separator: "; ") + ").", valueName: valueName)
    }

    /// `text`, from `source` (the flag or the variable), as a value, or a ConfigurationError naming both.
    func parse(_ text: String, from source: String) throws(ConfigurationError) -> Value {
        do {
            return try parser.parse(text)
        } catch {
            throw ConfigurationError(
                code: error.code, setting: source, shownValue: isSecret ? nil : SettingText.shown(text),
                detail: error.detail, remedy: parser.expected)
        }
    }

    /// The flag's value, else the variable's, else nil.
    func resolveOptional(_ flagValue: String?) throws(ConfigurationError) -> Value? {
        if let flagValue { return try parse(flagValue, from: flag) }
        if let variable, let text = Environment.value(variable) { return try parse(text, from: variable) }
        return nil
    }
}

extension Setting {
    /// The flag's value, else the variable's, else the default.
    func resolve(_ flagValue: String?) throws(ConfigurationError) -> Value {
        guard let value = try resolveOptional(flagValue) ?? defaultValue else {
            preconditionFailure("\(flag) has no default; use resolveOptional")
        }
        return value
    }
}
