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
    static func parseCanonical(_ text: UnsafeRawBufferPointer) -> UUIDBytes? {
        guard text.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for i in 0..<36 {
            let byte = text[i]
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = hexValue(byte) else { return nil }
            if nibbles < 16 {
                high = high << 4 | UInt64(value)
            } else {
                low = low << 4 | UInt64(value)
            }
            nibbles += 1
        }
        return UUIDBytes(high: high, low: low)
    }
}

extension UUIDBytes {
    /// Appends the lowercase 8-4-4-4-12 text, the form PostgreSQL prints.
    public func appendCanonical(to output: inout [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        let table = digits.utf8Start
        for i in 0..<32 {
            if i == 8 || i == 12 || i == 16 || i == 20 { output.append(UInt8(ascii: "-")) }
            let word = i < 16 ? high : low
            let shift = UInt64(60 - (i % 16) * 4)
            output.append(table[Int((word >> shift) & 0xF)])
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
