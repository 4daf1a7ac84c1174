/// The top-level keys the contract gives a rule to. Every other key is
/// allowed and ignored, as are keys of nested objects.
enum KnownField: Int, CaseIterable {
    case eventID, eventType, eventTime, userID
    case sessionID, page, device, country, properties
    case referrer, element, level, service, message, amount, currency, orderID

    var name: StaticString {
        switch self {
        case .eventID: "event_id"
        case .eventType: "event_type"
        case .eventTime: "event_time"
        case .userID: "user_id"
        case .sessionID: "session_id"
        case .page: "page"
        case .device: "device"
        case .country: "country"
        case .properties: "properties"
        case .referrer: "referrer"
        case .element: "element"
        case .level: "level"
        case .service: "service"
        case .message: "message"
        case .amount: "amount"
        case .currency: "currency"
        case .orderID: "order_id"
        }
    }

    /// `$.name`, built on the reject path only.
    var path: String { "$." + name.description }

    /// Matches a key as it appears in the message. Keys are compared after
    /// escape decoding (`"event\u005fid"` is `event_id`), like `jsonb` does,
    /// but only escaped keys pay for decoding.
    @inline(__always)
    static func match(_ key: JSONStringSlice, in message: UnsafeRawBufferPointer) -> KnownField? {
        if key.hasEscapes {
            return JSONText.withDecoded(key, of: message) { match(decoded: $0) }
        }
        return match(decoded: UnsafeRawBufferPointer(rebasing: message[key.range]))
    }

    /// Dispatch on length first: most unknown keys are then ruled out by one compare.
    @inline(__always)
    static func match(decoded key: UnsafeRawBufferPointer) -> KnownField? {
        switch key.count {
        case 4:
            return key.equals("page") ? .page : nil
        case 5:
            return key.equals("level") ? .level : nil
        case 6:
            if key.equals("device") { return .device }
            if key.equals("amount") { return .amount }
        case 7:
            if key.equals("user_id") { return .userID }
            if key.equals("country") { return .country }
            if key.equals("element") { return .element }
            if key.equals("service") { return .service }
            if key.equals("message") { return .message }
        case 8:
            if key.equals("event_id") { return .eventID }
            if key.equals("referrer") { return .referrer }
            if key.equals("currency") { return .currency }
            if key.equals("order_id") { return .orderID }
        case 10:
            if key.equals("event_type") { return .eventType }
            if key.equals("event_time") { return .eventTime }
            if key.equals("session_id") { return .sessionID }
            if key.equals("properties") { return .properties }
        default:
            break
        }
        return nil
    }
}

/// Where the last occurrence of a known field's value lies in the message.
struct FieldValue {
    var kind: JSONKind
    /// Value bytes, quotes included for strings.
    var range: Range<Int>
    var hasEscapes: Bool

    static let absent = FieldValue(kind: .absent, range: 0..<0, hasEscapes: false)

    /// The contents of a string value, between its quotes.
    var stringSlice: JSONStringSlice {
        JSONStringSlice(range: (range.lowerBound + 1)..<(range.upperBound - 1), hasEscapes: hasEscapes)
    }
}

/// One slot per known field, overwritten on duplicates so the last one wins
/// as in `jsonb`. Named stored properties rather than an InlineArray: reading
/// one slot then never copies the table (it did, measurably, with InlineArray).
struct FieldTable {
    private var eventID = FieldValue.absent
    private var eventType = FieldValue.absent
    private var eventTime = FieldValue.absent
    private var userID = FieldValue.absent
    private var sessionID = FieldValue.absent
    private var page = FieldValue.absent
    private var device = FieldValue.absent
    private var country = FieldValue.absent
    private var properties = FieldValue.absent
    private var referrer = FieldValue.absent
    private var element = FieldValue.absent
    private var level = FieldValue.absent
    private var service = FieldValue.absent
    private var message = FieldValue.absent
    private var amount = FieldValue.absent
    private var currency = FieldValue.absent
    private var orderID = FieldValue.absent

    subscript(field: KnownField) -> FieldValue {
        get {
            switch field {
            case .eventID: eventID
            case .eventType: eventType
            case .eventTime: eventTime
            case .userID: userID
            case .sessionID: sessionID
            case .page: page
            case .device: device
            case .country: country
            case .properties: properties
            case .referrer: referrer
            case .element: element
            case .level: level
            case .service: service
            case .message: message
            case .amount: amount
            case .currency: currency
            case .orderID: orderID
            }
        }
        set {
            switch field {
            case .eventID: eventID = newValue
            case .eventType: eventType = newValue
            case .eventTime: eventTime = newValue
            case .userID: userID = newValue
            case .sessionID: sessionID = newValue
            case .page: page = newValue
            case .device: device = newValue
            case .country: country = newValue
            case .properties: properties = newValue
            case .referrer: referrer = newValue
            case .element: element = newValue
            case .level: level = newValue
            case .service: service = newValue
            case .message: message = newValue
            case .amount: amount = newValue
            case .currency: currency = newValue
            case .orderID: orderID = newValue
            }
        }
    }
}
