/// Every way a message can break the event contract (`contract/events.md`, "What is malformed"),
/// each with the reason code the validator gives it.
public enum Malformation: Int, CaseIterable, Sendable {
    /// No value at all (a Kafka tombstone).
    case tombstone
    /// A value of zero bytes.
    case emptyValue
    /// A string holding a byte sequence that is not UTF-8.
    case invalidUTF8
    /// A UTF-8 byte-order mark before the object.
    case byteOrderMark
    /// A `\ud83d` escape with no low surrogate after it.
    case loneSurrogate
    /// A raw tab inside a string.
    case rawControlCharacter
    /// A valid event followed by more bytes.
    case trailingBytes
    /// An event cut off half-way.
    case truncated
    /// Valid JSON, but an array.
    case notObject
    /// No `event_id`.
    case missingField
    /// `amount` as a string.
    case wrongType
    /// A currency that is not three upper-case letters.
    case invalidValue
    /// An `event_time` that is not RFC 3339.
    case invalidTimestamp
    /// A `\u0000` escape, which `jsonb` cannot store.
    case nulEscape
    /// One byte over the maximum message size.
    case tooLarge
    /// Arrays nested one level deeper than allowed.
    case tooDeep
    /// An `event_time` before 2000-01-01 or more than a day ahead.
    case timeOutOfRange

    /// The reason code `EventValidator` gives (`ContractError.Reason.rawValue`).
    public var expectedReason: String {
        switch self {
        case .tombstone, .emptyValue: "empty"
        case .invalidUTF8: "invalid_utf8"
        case .byteOrderMark, .loneSurrogate, .rawControlCharacter, .trailingBytes, .truncated: "invalid_json"
        case .notObject: "not_object"
        case .missingField: "missing_field"
        case .wrongType: "wrong_type"
        case .invalidValue, .invalidTimestamp: "invalid_value"
        case .nulEscape: "nul_escape"
        case .tooLarge: "too_large"
        case .tooDeep: "too_deep"
        case .timeOutOfRange: "time_out_of_range"
        }
    }

    /// Relative frequency among malformed messages: a `tooLarge` message is a mebibyte that the
    /// development Kafka keeps and `etl.rejected_events` stores whole, so it is drawn rarely.
    var weight: Int { self == .tooLarge ? 1 : 20 }

    static let totalWeight = allCases.reduce(0) { $0 + $1.weight }
}
