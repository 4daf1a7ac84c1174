/// Why a text is not a value; the setting's name is added by `Setting`.
struct ParseFailure: Error {
    var code: ConfigurationError.Code
    var detail: String?
}

/// Turns the text of a flag or variable into a value, or says why it cannot. Numbers
/// are read here, not by `Int(_:)`/`Double(_:)`: those take `inf`, `nan` and `1e309`,
/// and a conversion of an out-of-range Double to Int traps (the SIGILL this replaced).
struct ValueParser<Value: Sendable>: Sendable {
    /// What is accepted, for errors and help: "a duration from 1ms to 1h".
    let expected: String
    let parse: @Sendable (String) throws(ParseFailure) -> Value

    func map<T: Sendable>(_ transform: @escaping @Sendable (Value) -> T) -> ValueParser<T> {
        let parse = self.parse
        return ValueParser<T>(expected: expected) { text throws(ParseFailure) in transform(try parse(text)) }
    }
}

extension ValueParser {
    /// No number is longer; a longer text is refused before it is read.
    static var maxNumberBytes: Int { 32 }

    /// Refuses what no setting accepts: empty, overlong, control characters (NUL included).
    static func screen(_ text: String, maxBytes: Int) throws(ParseFailure) {
        if text.isEmpty { throw ParseFailure(code: .empty) }
        if text.utf8.count > maxBytes {
            throw ParseFailure(code: .tooLong, detail: "\(text.utf8.count) bytes, at most \(maxBytes)")
        }
        if text.unicodeScalars.contains(where: SettingText.isControl) { throw ParseFailure(code: .controlCharacter) }
    }

    /// Splits `-12.5` into sign, integer digits and fraction digits; ASCII digits only
    /// (`١٢`, `1e3`, `inf`, `0x10`, `+1` and `1,000` are not numbers here).
    static func decimalParts(_ text: Substring, allowFraction: Bool) throws(ParseFailure) -> (
        negative: Bool, integer: Substring, fraction: Substring
    ) {
        var body = text
        let negative = body.first == "-"
        if negative { body = body.dropFirst() }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integer = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        let isDigits = { (part: Substring) in part.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard isDigits(integer), isDigits(fraction), !(integer.isEmpty && fraction.isEmpty),
            parts.count == 1 || (allowFraction && !fraction.isEmpty)
        else {
            throw ParseFailure(code: .malformed, detail: allowFraction ? "not a decimal number" : "not a whole number")
        }
        return (negative, integer, fraction)
    }
}

extension ValueParser where Value: FixedWidthInteger {
    /// A whole number in `range`; overflow of the type is out of range, never a trap.
    static func integer(_ range: ClosedRange<Value>, expected: String? = nil) -> ValueParser {
        ValueParser(expected: expected ?? "a whole number from \(range.lowerBound) to \(range.upperBound)") {
            text throws(ParseFailure) in
            try screen(text, maxBytes: maxNumberBytes)
            let parts = try decimalParts(Substring(text), allowFraction: false)
            var value: Value = 0
            for digit in parts.integer.utf8 {
                let step = Value(digit - 0x30)
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) =
                    parts.negative ? shifted.subtractingReportingOverflow(step) : shifted.addingReportingOverflow(step)
                guard !overflow, !overflow2 else { throw ParseFailure(code: .outOfRange) }
                value = next
            }
            guard range.contains(value) else { throw ParseFailure(code: .outOfRange) }
            return value
        }
    }
}

extension ValueParser where Value == Double {
    /// A plain decimal (`0.25`, `1000`) in `range`; no exponent, `inf` or `nan`, so always finite.
    static func decimal(_ range: ClosedRange<Double>, expected: String) -> ValueParser {
        ValueParser(expected: expected) { text throws(ParseFailure) in
            try screen(text, maxBytes: maxNumberBytes)
            _ = try decimalParts(Substring(text), allowFraction: true)
            // At most 32 plain digits: Double reads it, finite, within 1e32.
            guard let value = Double(text), range.contains(value) else { throw ParseFailure(code: .outOfRange) }
            return value
        }
    }
}

extension ValueParser where Value == String {
    /// Any text without control characters, at most `maxBytes` long.
    static func text(maxBytes: Int, expected: String) -> ValueParser {
        ValueParser(expected: expected) { text throws(ParseFailure) in
            try screen(text, maxBytes: maxBytes)
            return text
        }
    }

    /// One of `choices`, as written.
    static func choice(_ choices: [String]) -> ValueParser {
        ValueParser(expected: "one of " + choices.joined(separator: ", ")) { text throws(ParseFailure) in
            try screen(text, maxBytes: maxNumberBytes)
            guard choices.contains(text) else { throw ParseFailure(code: .malformed) }
            return text
        }
    }
}
