/// Tunable bounds of the contract. The defaults are the contract's defaults.
public struct ContractLimits: Sendable {
    /// Checked before any parsing, so a huge message costs nothing to reject.
    public var maxMessageBytes: Int
    /// Arrays and objects; the event object itself is level 1.
    public var maxDepth: Int
    /// Events before this instant (UTC µs since the epoch) are `time_out_of_range`.
    public var minEventTimeMicros: Int64
    /// How far past the ingestion time an event may lie (clock skew allowance).
    public var maxFutureMicros: Int64

    public init(
        maxMessageBytes: Int = 1_048_576, maxDepth: Int = 64,
        minEventTimeMicros: Int64 = 946_684_800_000_000, maxFutureMicros: Int64 = 86_400_000_000
    ) {
        self.maxMessageBytes = maxMessageBytes
        self.maxDepth = maxDepth
        self.minEventTimeMicros = minEventTimeMicros
        self.maxFutureMicros = maxFutureMicros
    }
}
