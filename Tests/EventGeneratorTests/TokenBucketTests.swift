import EventGenerator
import Testing

/// The rate limiter against a simulated clock: what `pipeline produce --rate` does, without
/// timing a loaded machine.
@Suite struct TokenBucketTests {
    /// Sends for `seconds` of simulated time; each wait overshoots by `oversleepNanos` (a sleep
    /// on a busy machine always does). Returns how many were sent.
    private func send(rate: Double, seconds: Double, oversleepNanos: UInt64, stallAtNanos: UInt64? = nil) -> Int {
        var bucket = TokenBucket(rate: rate)
        var now: UInt64 = 1_000_000_000
        let end = now + UInt64(seconds * 1e9)
        var sent = 0
        var stalled = false
        while true {
            let wait = bucket.reserve(nowNanos: now)
            if wait > 0 { now += wait + oversleepNanos }
            if now > end { break }
            sent += 1
            now += 2_000  // the work of sending one
            if let stallAtNanos, !stalled, now >= 1_000_000_000 + stallAtNanos {
                now += 500_000_000
                stalled = true
            }
        }
        return sent
    }

    @Test(arguments: [100.0, 2_000.0, 50_000.0])
    func holdsItsRateOverThreeSeconds(rate: Double) {
        let sent = send(rate: rate, seconds: 3, oversleepNanos: 60_000)
        let achieved = Double(sent) / 3
        #expect(abs(achieved - rate) / rate < 0.03, "\(achieved)/s for \(rate)/s")
    }

    @Test func aStallIsNotMadeUpInOneBurst() {
        // Half a second lost: at most a hundredth of a second's worth is caught up.
        let sent = send(rate: 2_000, seconds: 3, oversleepNanos: 60_000, stallAtNanos: 1_000_000_000)
        #expect(sent <= 5_000 + 25)
        #expect(sent >= 5_000 - 100)
    }

    @Test func burstAllowsImmediateSends() {
        var bucket = TokenBucket(rate: 1_000, burst: 10)
        var now: UInt64 = 0
        #expect(bucket.reserve(nowNanos: now) == 0)
        now += 1_000_000_000  // idle for a second: refills to the burst, not beyond
        var immediate = 0
        while bucket.reserve(nowNanos: now) == 0 { immediate += 1 }
        #expect(immediate == 10)
    }
}
