import Testing

/// Reads COPY text back the way PostgreSQL does, so tests check what lands in
/// the tables rather than how the encoder spells it.
enum CopyRows {
    /// Rows split on raw newlines, fields on raw tabs, each field un-escaped; nil is `\N`.
    static func parse(_ text: [UInt8]) -> [[[UInt8]?]] {
        guard !text.isEmpty else { return [] }
        #expect(text.last == UInt8(ascii: "\n"), "COPY text must end each row with a newline")
        return text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast().map {
            row in
            row.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map { field in
                Array(field) == [UInt8(ascii: "\\"), UInt8(ascii: "N")] ? nil : unescape(Array(field))
            }
        }
    }

    /// PostgreSQL's COPY text un-escaping: `\b \f \n \r \t \v`, octal `\NNN`,
    /// hex `\xNN`, and any other escaped byte stands for itself.
    static func unescape(_ field: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < field.count {
            guard field[i] == UInt8(ascii: "\\"), i + 1 < field.count else {
                out.append(field[i])
                i += 1
                continue
            }
            let escaped = field[i + 1]
            i += 2
            switch escaped {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = UInt32(escaped - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < field.count, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(field[i]) {
                    value = value * 8 + UInt32(field[i] - UInt8(ascii: "0"))
                    digits += 1
                    i += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x") where i < field.count && hexDigit(field[i]) != nil:
                var value = hexDigit(field[i])!
                i += 1
                if i < field.count, let low = hexDigit(field[i]) {
                    value = value << 4 | low
                    i += 1
                }
                out.append(value)
            default:
                out.append(escaped)
            }
        }
        return out
    }

    /// A bytea value in hex form (`\x0a1b`, after COPY un-escaping) as its bytes; nil if malformed.
    static func bytea(_ value: [UInt8]) -> [UInt8]? {
        guard value.count >= 2, value[0] == UInt8(ascii: "\\"), value[1] == UInt8(ascii: "x"),
            value.count % 2 == 0
        else { return nil }
        var out: [UInt8] = []
        var i = 2
        while i < value.count {
            guard let high = lowercaseHexDigit(value[i]), let low = lowercaseHexDigit(value[i + 1]) else {
                return nil
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: lowercaseHexDigit(byte)
        }
    }

    /// The encoder promises lowercase hex; upper case counts as malformed here.
    private static func lowercaseHexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes as UTF-8 text, for readable expectations.
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension Optional where Wrapped == [UInt8] {
    /// The field as UTF-8 text, nil for SQL NULL.
    var text: String? { map { String(decoding: $0, as: UTF8.self) } }
}
