import EventContract

/// Appends text to a byte buffer without creating a `String` per value: the generator's hot path.
extension [UInt8] {
    @inline(__always)
    mutating func append(_ text: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Decimal digits of `value`.
    mutating func appendDecimal(_ value: Int) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(-value)  // never Int.min here: our values are counts, cents and offsets
            return
        }
        if value < 10 {
            append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // Int.max has 19 digits
        Swift.withUnsafeMutableBytes(of: &digits) { raw in
            var count = 0
            var rest = value
            while rest > 0 {
                count += 1
                raw[24 - count] = UInt8(truncatingIfNeeded: rest % 10) &+ 48
                rest /= 10
            }
            append(contentsOf: raw[(24 - count)...])
        }
    }

    /// `width` digits, zero-padded.
    @inline(__always)
    mutating func appendPadded(_ value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor &*= 10 }
        var rest = value
        while divisor > 0 {
            append(UInt8(truncatingIfNeeded: rest / divisor) &+ 48)
            rest %= divisor
            divisor /= 10
        }
    }

    /// `count` lower-case hex digits of `value`'s low bits, most significant first.
    @inline(__always)
    mutating func appendHex(_ value: UInt64, digits count: Int) {
        var shift = (count - 1) * 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
            append(nibble < 10 ? nibble &+ 48 : nibble &+ 87)
            shift -= 4
        }
    }

    /// A version-4 UUID in canonical 8-4-4-4-12 form from two random words.
    mutating func appendUUID(_ high: UInt64, _ low: UInt64) {
        let versioned = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let variant = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        UUIDBytes(high: versioned, low: variant).appendCanonical(to: &self)
    }

    /// An amount in cents as a JSON number with two decimals (`42.50`).
    mutating func appendCents(_ cents: Int) {
        appendDecimal(cents / 100)
        append(UInt8(ascii: "."))
        appendPadded(cents % 100, width: 2)
    }
}

/// RFC 3339 UTC timestamps with milliseconds, the date and time of day recomputed only when the
/// second changes.
struct TimestampWriter {
    private var cachedSecond: Int64 = .min
    private var prefix: [UInt8] = []  // `2026-11-24T10:15:03`

    mutating func append(micros: Int64, to output: inout [UInt8]) {
        let second = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        if second != cachedSecond {
            cachedSecond = second
            prefix.removeAll(keepingCapacity: true)
            Self.format(second: second, into: &prefix)
        }
        output.append(contentsOf: prefix)
        output.append(UInt8(ascii: "."))
        output.appendPadded(Int((micros - second * 1_000_000) / 1000), width: 3)
        output.append(UInt8(ascii: "Z"))
    }

    /// `2026-11-24T10:15:03` for a second since the epoch.
    static func format(second: Int64, into output: inout [UInt8]) {
        let days = second >= 0 ? second / 86_400 : (second - 86_399) / 86_400
        let secondOfDay = Int(second - days * 86_400)
        let (year, month, day) = EventTime.civilFromDays(days)
        output.appendPadded(Int(year), width: 4)
        output.append(UInt8(ascii: "-"))
        output.appendPadded(Int(month), width: 2)
        output.append(UInt8(ascii: "-"))
        output.appendPadded(Int(day), width: 2)
        output.append(UInt8(ascii: "T"))
        output.appendPadded(secondOfDay / 3600, width: 2)
        output.append(UInt8(ascii: ":"))
        output.appendPadded(secondOfDay / 60 % 60, width: 2)
        output.append(UInt8(ascii: ":"))
        output.appendPadded(secondOfDay % 60, width: 2)
    }
}
