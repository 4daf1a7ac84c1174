import Sketches
import Testing

/// What `hash + add` costs per event, printed, never asserted (timings belong in benchmarks): the
/// worker pays it once per event. The figure that matters is a release build's; a debug
/// `swift test` prints a much larger one.
@Suite("HyperLogLog throughput (printed, not asserted)")
struct ThroughputTests {
    /// 1 M random user ids (`u` and 6–12 digits) laid end to end in one buffer, as ids lie in
    /// payloads: hashing borrows each range, nothing is allocated per event.
    struct UserIDs {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []

        init(count: Int, seed: UInt64) {
            var state = seed
            func next() -> UInt64 {  // SplitMix64: the same ids on every run and platform
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return z ^ (z >> 31)
            }
            for _ in 0..<count {
                let start = bytes.count
                bytes.append(UInt8(ascii: "u"))
                bytes.append(contentsOf: String(next() % 1_000_000_000_000).utf8)
                ranges.append(start..<bytes.count)
            }
        }
    }

    static func nanoseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
    }

    @Test("ns per hash + add: 1 M random user ids into one sketch, and into 10 000 keys' sketches")
    func hashAndAdd() {
        let ids = UserIDs(count: 1_000_000, seed: 42)
        let clock = ContinuousClock()

        var one = HyperLogLog()
        let single = clock.measure {
            ids.bytes.withUnsafeBytes { buffer in
                for range in ids.ranges { one.add(bytes: UnsafeRawBufferPointer(rebasing: buffer[range])) }
            }
        }

        // 100 events a key: every sketch stays EXPLICIT, the sorted insert is the cost.
        var perKey = [HyperLogLog](repeating: HyperLogLog(), count: 10_000)
        let keyed = clock.measure {
            ids.bytes.withUnsafeBytes { buffer in
                for (event, range) in ids.ranges.enumerated() {
                    perKey[event % perKey.count].add(bytes: UnsafeRawBufferPointer(rebasing: buffer[range]))
                }
            }
        }

        let events = Double(ids.ranges.count)
        print(
            "hll throughput: one sketch \(Self.nanoseconds(single) / events) ns/event (\(one.representation), "
                + "estimate \(one.cardinality)); 10 000 explicit sketches \(Self.nanoseconds(keyed) / events) ns/event")
        #expect(one.representation == .full)
        #expect(perKey.allSatisfy { $0.representation == .explicit })
    }
}
