/// Capped exponential backoff with full jitter: attempt n waits a random time
/// in [base·2ⁿ / 2, base·2ⁿ], never more than `cap`. Jitter keeps several
/// workers from retrying in lockstep against a recovering database.
public struct Backoff: Sendable {
    public var baseMs: Int
    public var capMs: Int
    public private(set) var attempt = 0

    public init(baseMs: Int = 100, capMs: Int = 10_000) {
        self.baseMs = baseMs
        self.capMs = capMs
    }

    /// The delay before the next retry, in milliseconds; advances the attempt count.
    public mutating func nextDelayMs<R: RandomNumberGenerator>(using generator: inout R) -> Int {
        let (doubled, overflow) = baseMs.multipliedReportingOverflow(by: 1 << min(attempt, 30))
        let ceiling = max(0, overflow ? capMs : min(capMs, doubled))
        attempt += 1
        return Int.random(in: (ceiling / 2)...max(ceiling / 2, ceiling), using: &generator)
    }

    public mutating func nextDelayMs() -> Int {
        var generator = SystemRandomNumberGenerator()
        return nextDelayMs(using: &generator)
    }

    public mutating func reset() { attempt = 0 }
}
