import EventGenerator
import EventContract
import Testing

/// A smoke test of the hot path at volume; it asserts acceptance only. Time it
/// by hand: `swift test -c release --filter throughputSmoke`.
@Suite("Throughput")
struct ThroughputTests {
    static let now: Int64 = 1_764_000_000_000_000

    /// About 300 bytes each, in a mix of the four types, packed in one buffer.
    static func makeEvents(count: Int) -> (bytes: [UInt8], ranges: [Range<Int>]) {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        bytes.reserveCapacity(count * 320)
        ranges.reserveCapacity(count)
        var generator = SplitMix64(seed: 1)
        for i in 0..<count {
            let id = UUIDBytes(high: generator.next(), low: generator.next())
            var idText: [UInt8] = []
            id.appendCanonical(to: &idText)
            let common =
                #""event_id":"\#(String(decoding: idText, as: UTF8.self))","event_time":"2025-06-\#(10 + i % 18)T10:15:03.\#(100 + i % 900)Z","user_id":"user-\#(i % 5000)","session_id":"s-\#(i % 977)","page":"/products/item-\#(i % 313)","device":"mobile","country":"ES""#
            let text: String
            switch i % 4 {
            case 0:
                text =
                    #"{\#(common),"event_type":"page_view","referrer":"https://www.example.com/search?q=shoes","properties":{"ab_test":"b","scroll":0.75}}"#
            case 1:
                text =
                    #"{\#(common),"event_type":"click","element":"add-to-cart","properties":{"x":120,"y":640,"label":"Añadir"}}"#
            case 2:
                text =
                    #"{\#(common),"event_type":"log","level":"warn","service":"checkout","message":"slow upstream response: 812 ms"}"#
            default:
                text =
                    #"{\#(common),"event_type":"transaction","amount":\#(i % 1000).\#(i % 100),"currency":"EUR","order_id":"o-\#(i)"}"#
            }
            let start = bytes.count
            bytes.append(contentsOf: text.utf8)
            ranges.append(start..<bytes.count)
        }
        return (bytes, ranges)
    }

    @Test func throughputSmoke() {
        let (bytes, ranges) = Self.makeEvents(count: 200_000)
        let validator = EventValidator()
        var accepted = 0
        bytes.withUnsafeBytes { all in
            for range in ranges {
                if case .success = validator.validate(
                    UnsafeRawBufferPointer(rebasing: all[range]), nowMicros: Self.now)
                {
                    accepted += 1
                }
            }
        }
        #expect(accepted == ranges.count)
    }
}
