/// What the loader needs from an accepted message; everything else stays in
/// the raw bytes, which are loaded whole as `jsonb`.
public struct ValidatedEvent: Sendable {
    public var eventID: UUIDBytes
    public var eventType: EventType
    /// UTC, microseconds since the Unix epoch.
    public var eventTimeMicros: Int64
    /// Into the validated message; decode with `JSONText.appendDecoded` if `hasEscapes`.
    public var userID: JSONStringSlice

    public init(
        eventID: UUIDBytes, eventType: EventType, eventTimeMicros: Int64, userID: JSONStringSlice
    ) {
        self.eventID = eventID
        self.eventType = eventType
        self.eventTimeMicros = eventTimeMicros
        self.userID = userID
    }
}
