/// A UUID as two big-endian halves: hashing and comparing two words is cheaper
/// than 16 bytes, and the layout matches PostgreSQL's `uuid` byte order.
public struct UUIDBytes: Sendable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical 8-4-4-4-12 form, hex digits in either case.
    /// Braces, URNs and the 32-digit form are refused: the contract asks for canonical text.
    @inline(__always)
    static func parseCanonical(_ text: UnsafeRawBufferPointer) -> UUIDBytes? {
        guard text.count == 36, text[8] == UInt8(ascii: "-"), text[13] == UInt8(ascii: "-"),
            text[18] == UInt8(ascii: "-"), text[23] == UInt8(ascii: "-")
        else { return nil }
        // Branch-free digit loop: every event carries a UUID, so this is hot.
        var bad = false
        var high: UInt64 = 0
        var low: UInt64 = 0
        hexRun(text, 0, 8, &high, &bad)
        hexRun(text, 9, 4, &high, &bad)
        hexRun(text, 14, 4, &high, &bad)
        hexRun(text, 19, 4, &low, &bad)
        hexRun(text, 24, 12, &low, &bad)
        return bad ? nil : UUIDBytes(high: high, low: low)
    }

    @inline(__always)
    private static func hexRun(
        _ text: UnsafeRawBufferPointer, _ start: Int, _ count: Int, _ value: inout UInt64,
        _ bad: inout Bool
    ) {
        for i in start..<(start + count) {
            let byte = text[i]
            let digit = byte &- UInt8(ascii: "0")
            let letter = (byte | 0x20) &- UInt8(ascii: "a")
            bad = bad || (digit >= 10 && letter >= 6)
            value = value << 4 | UInt64(digit < 10 ? digit : letter &+ 10)
        }
    }
}

extension UUIDBytes {
    /// Appends the lowercase 8-4-4-4-12 text, the form PostgreSQL prints.
    public func appendCanonical(to output: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        let table = digits.utf8Start
        // 36 bytes into a stack buffer, appended once: one append per character (a uniqueness
        // check each) was 7% of the worker's instructions in callgrind.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 36) { buffer in
            var position = 0
            for i in 0..<32 {
                if i == 8 || i == 12 || i == 16 || i == 20 {
                    buffer[position] = UInt8(ascii: "-")
                    position += 1
                }
                let word = i < 16 ? high : low
                let shift = UInt64(60 - (i % 16) * 4)
                buffer[position] = table[Int((word >> shift) & 0xF)]
                position += 1
            }
            output.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }
}

/// The value of one hex digit, either case.
@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte &- UInt8(ascii: "A") &+ 10
    default: nil
    }
}
