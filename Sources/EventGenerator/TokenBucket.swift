/// A token bucket: `rate` tokens per second, at most `burst` saved up. Pure arithmetic on the
/// clock readings it is given, so it is tested with a simulated clock.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var lastNanos: UInt64?

    /// `burst` defaults to a hundredth of a second's worth (at least 1): a sleep that overshoots
    /// is made up on the next calls, and a stall never turns into a long catch-up spike.
    public init(rate: Double, burst: Double? = nil) {
        precondition(rate > 0, "a token bucket needs a positive rate")
        self.rate = rate
        self.burst = burst ?? max(1, rate / 100)
        self.tokens = 1
    }

    /// Takes one token at `nowNanos`; returns 0 when it may go now, else how many nanoseconds to
    /// wait before it may (the token is already taken: send after waiting, without asking again).
    public mutating func reserve(nowNanos: UInt64) -> UInt64 {
        if let lastNanos, nowNanos > lastNanos {
            tokens = min(burst, tokens + Double(nowNanos - lastNanos) * rate / 1e9)
        }
        lastNanos = max(lastNanos ?? nowNanos, nowNanos)
        tokens -= 1
        if tokens >= 0 { return 0 }
        return UInt64((-tokens / rate * 1e9).rounded(.up))
    }
}
