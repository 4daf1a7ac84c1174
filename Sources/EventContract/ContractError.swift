/// Why a message breaks the event contract. The only error type of this module.
///
/// `detail` names the field and the byte offset, never payload bytes: rejected
/// messages are stored whole elsewhere, and errors end up in logs.
public struct ContractError: Error, Sendable, CustomStringConvertible {
    /// A stable reason code. Static lets rather than an enum so codes can be
    /// added without breaking exhaustive switches in other modules.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        init(_ rawValue: String) { self.rawValue = rawValue }

        public var description: String { rawValue }

        /// The value is absent or zero bytes long (a tombstone).
        public static let empty = Reason("empty")
        /// Some bytes are not UTF-8; PostgreSQL refuses them before JSON parsing.
        public static let invalidUTF8 = Reason("invalid_utf8")
        /// Not JSON per RFC 8259 (BOM, control characters, lone surrogates, trailing bytes…).
        public static let invalidJSON = Reason("invalid_json")
        /// Valid JSON whose top-level value is not an object.
        public static let notObject = Reason("not_object")
        /// A required field is absent (or, for required fields, nothing else stands in).
        public static let missingField = Reason("missing_field")
        /// A known field holds the wrong JSON type.
        public static let wrongType = Reason("wrong_type")
        /// A known field has the right type but breaks its rule, or a number PostgreSQL cannot hold.
        public static let invalidValue = Reason("invalid_value")
        /// A string holds `\u0000`, which `jsonb` cannot store.
        public static let nulEscape = Reason("nul_escape")
        /// Larger than `ContractLimits.maxMessageBytes`.
        public static let tooLarge = Reason("too_large")
        /// Arrays/objects nested deeper than `ContractLimits.maxDepth`.
        public static let tooDeep = Reason("too_deep")
        /// `event_time` is valid but outside the accepted window.
        public static let timeOutOfRange = Reason("time_out_of_range")
    }

    public var reason: Reason
    /// For humans: which field, what is wrong, at which byte offset. Never payload bytes.
    public var detail: String
    /// JSON path of the offending field, e.g. `$.event_time`; only known field names appear.
    public var path: String?
    /// Offset into the message where the problem was found.
    public var byteOffset: Int?

    public init(reason: Reason, detail: String, path: String? = nil, byteOffset: Int? = nil) {
        self.reason = reason
        self.detail = detail
        self.path = path
        self.byteOffset = byteOffset
    }

    public var description: String {
        var text = reason.rawValue + ": " + detail
        // The detail already names the byte offset.
        if let path { text += " [" + path + "]" }
        return text
    }
}
