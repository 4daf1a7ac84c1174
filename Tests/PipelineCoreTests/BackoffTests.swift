import EventGenerator
import PipelineCore
import Testing

@Suite("Backoff")
struct BackoffTests {
    func ceiling(_ backoff: Backoff, attempt: Int) -> Int {
        var ceiling = backoff.baseMs
        for _ in 0..<attempt where ceiling < backoff.capMs { ceiling *= 2 }
        return min(backoff.capMs, ceiling)
    }

    @Test(arguments: [1, 2, 3, 42, 0xDEAD_BEEF] as [UInt64])
    func delaysStayWithinHalfTheCeilingAndTheCeiling(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var backoff = Backoff(baseMs: 100, capMs: 10_000)
        for attempt in 0..<40 {
            #expect(backoff.attempt == attempt)
            let top = ceiling(backoff, attempt: attempt)
            let delay = backoff.nextDelayMs(using: &generator)
            #expect(delay >= top / 2 && delay <= top, "attempt \(attempt): \(delay) ms outside \(top / 2)…\(top)")
        }
        #expect(backoff.attempt == 40)
    }

    @Test func ceilingsDoubleThenCap() {
        let backoff = Backoff(baseMs: 100, capMs: 10_000)
        #expect(
            (0..<10).map { ceiling(backoff, attempt: $0) }
                == [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000])
        // The ceilings the delays are bounded by, seen from the delays: the largest of many
        // draws at each attempt approaches the ceiling and never passes it.
        var generator = SplitMix64(seed: 7)
        var largest: [Int] = []
        for attempt in 0..<10 {
            var maxDelay = 0
            for _ in 0..<200 {
                var fresh = Backoff(baseMs: 100, capMs: 10_000)
                for _ in 0..<attempt { _ = fresh.nextDelayMs(using: &generator) }
                maxDelay = max(maxDelay, fresh.nextDelayMs(using: &generator))
            }
            largest.append(maxDelay)
        }
        for (attempt, delay) in largest.enumerated() {
            let top = ceiling(backoff, attempt: attempt)
            #expect(delay <= top && delay >= top * 9 / 10, "attempt \(attempt): largest \(delay) ms")
        }
    }

    @Test func jitterSpreadsDelays() {
        var generator = SplitMix64(seed: 99)
        var delays = Set<Int>()
        for _ in 0..<50 {
            var backoff = Backoff(baseMs: 1000, capMs: 60_000)
            delays.insert(backoff.nextDelayMs(using: &generator))
        }
        #expect(delays.count > 10)
        #expect(delays.allSatisfy { (500...1000).contains($0) })
    }

    @Test func sameSeedSameDelays() {
        func delays(seed: UInt64) -> [Int] {
            var generator = SplitMix64(seed: seed)
            var backoff = Backoff()
            return (0..<12).map { _ in backoff.nextDelayMs(using: &generator) }
        }
        #expect(delays(seed: 5) == delays(seed: 5))
        #expect(delays(seed: 5) != delays(seed: 6))
    }

    @Test func resetStartsOver() {
        var generator = SplitMix64(seed: 11)
        var backoff = Backoff(baseMs: 100, capMs: 10_000)
        for _ in 0..<15 { _ = backoff.nextDelayMs(using: &generator) }
        #expect((5000...10_000).contains(backoff.nextDelayMs(using: &generator)))
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect((50...100).contains(backoff.nextDelayMs(using: &generator)))
        #expect((100...200).contains(backoff.nextDelayMs(using: &generator)))
        #expect(backoff.attempt == 2)
    }

    @Test func defaultsAndTheSystemGenerator() {
        var backoff = Backoff()
        #expect(backoff.baseMs == 100)
        #expect(backoff.capMs == 10_000)
        #expect((50...100).contains(backoff.nextDelayMs()))
        #expect(backoff.attempt == 1)
    }

    @Test func manyAttemptsStayAtTheCap() {
        var generator = SplitMix64(seed: 3)
        var backoff = Backoff(baseMs: 250, capMs: 30_000)
        for _ in 0..<1000 { _ = backoff.nextDelayMs(using: &generator) }
        #expect((15_000...30_000).contains(backoff.nextDelayMs(using: &generator)))
    }

    @Test func smallCeilings() {
        var generator = SplitMix64(seed: 8)
        var zero = Backoff(baseMs: 0, capMs: 10_000)
        #expect((0..<5).map { _ in zero.nextDelayMs(using: &generator) } == [0, 0, 0, 0, 0])
        var one = Backoff(baseMs: 1, capMs: 1)
        #expect((0..<20).allSatisfy { _ in (0...1).contains(one.nextDelayMs(using: &generator)) })
        // A cap below the base wins from the first attempt.
        var capped = Backoff(baseMs: 1000, capMs: 300)
        #expect((150...300).contains(capped.nextDelayMs(using: &generator)))
    }
}
