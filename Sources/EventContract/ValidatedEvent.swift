/// What the loader needs from an accepted message; everything else stays in
/// the raw bytes, which are loaded whole as `jsonb`.
public struct ValidatedEvent: Sendable {
    public var eventID: UUIDBytes
    public var eventType: EventType
    /// UTC, microseconds since the Unix epoch.
    public var eventTimeMicros: Int64
    /// Into the validated message; decode with `JSONText.appendDecoded` if `hasEscapes`.
    public var userID: JSONStringSlice
    /// What the aggregates read besides (`etl.aggregate_inputs`): the last top-level occurrence
    /// of each field, as `payload ->> 'name'` reads it; nil when absent or JSON null.
    public var fields = AggregateFields()

    public init(
        eventID: UUIDBytes, eventType: EventType, eventTimeMicros: Int64, userID: JSONStringSlice
    ) {
        self.eventID = eventID
        self.eventType = eventType
        self.eventTimeMicros = eventTimeMicros
        self.userID = userID
    }
}

/// The optional fields an accepted event's aggregates read, as slices into its message.
public struct AggregateFields: Sendable {
    public var sessionID: JSONStringSlice?
    public var page: JSONStringSlice?
    public var country: JSONStringSlice?
    /// Clicks: what was clicked ("add_to_cart" counts in the funnel).
    public var element: JSONStringSlice?
    /// Transactions.
    public var currency: JSONStringSlice?
    /// Transactions: the JSON number's bytes, as sent.
    public var amount: Range<Int>?
    /// Logs.
    public var service: JSONStringSlice?
    public var level: JSONStringSlice?

    public init() {}
}
