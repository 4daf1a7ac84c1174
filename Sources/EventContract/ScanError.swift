/// A JSON-level failure, cheap to throw: no String until the validator turns
/// it into a `ContractError` on the reject path.
struct ScanError: Error {
    enum Kind: Sendable {
        case byteOrderMark
        case unexpectedEnd
        case unexpectedByte(expected: StaticString)
        case controlCharacter
        case invalidEscape
        case loneHighSurrogate
        case loneLowSurrogate
        case nulEscape
        case leadingZero
        case malformedNumber
        case numberOutOfRange
        case invalidUTF8
        case tooDeep(limit: Int)
        case trailingBytes
    }

    var kind: Kind
    var offset: Int

    init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    var reason: ContractError.Reason {
        switch kind {
        case .nulEscape: .nulEscape
        case .numberOutOfRange: .invalidValue
        case .invalidUTF8: .invalidUTF8
        case .tooDeep: .tooDeep
        default: .invalidJSON
        }
    }

    var message: String {
        switch kind {
        case .byteOrderMark: "byte-order mark before the JSON text"
        case .unexpectedEnd: "JSON text ends early"
        case .unexpectedByte(let expected): "unexpected byte, expected " + expected.description
        case .controlCharacter: "raw control character inside a string (must be escaped)"
        case .invalidEscape: "invalid escape sequence in a string"
        case .loneHighSurrogate: "\\u escape of a high surrogate not followed by a low surrogate"
        case .loneLowSurrogate: "\\u escape of a low surrogate without a high surrogate before it"
        case .nulEscape: "string holds the escape \\u0000, which PostgreSQL jsonb cannot store"
        case .leadingZero: "number with a leading zero"
        case .malformedNumber: "malformed number"
        case .numberOutOfRange:
            "number out of range for PostgreSQL numeric (over 131072 digits before the point or 16383 after)"
        case .invalidUTF8: "ill-formed UTF-8 sequence"
        case .tooDeep(let limit): "arrays/objects nested deeper than " + String(limit) + " levels"
        case .trailingBytes: "bytes after the JSON value"
        }
    }
}
