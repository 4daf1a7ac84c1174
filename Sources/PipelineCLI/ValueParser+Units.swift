/// Durations and byte sizes: a number and a unit, range-checked before any
/// conversion, so `1e300s`, `99999999999GiB` or `99999999999999h` are errors, not traps.
extension ValueParser where Value == Int {
    static var durationUnits: [(suffix: String, milliseconds: Int)] {
        [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    }

    /// `500ms`, `1.5s`, `5m`, `2h`, `1d`; a bare number is seconds. The value is milliseconds.
    static func duration(milliseconds range: ClosedRange<Int>) -> ValueParser {
        let expected =
            "a duration from \(formatDuration(range.lowerBound)) to \(formatDuration(range.upperBound)) (a number with ms, s, m, h or d; a bare number is seconds)"
        return ValueParser(expected: expected) { text throws(ParseFailure) in
            try screen(text, maxBytes: maxNumberBytes)
            // "ms" before "m" and "s": the longest suffix that matches.
            let unit = durationUnits.filter { text.hasSuffix($0.suffix) }.max { $0.suffix.count < $1.suffix.count }
            let number = text.dropLast(unit?.suffix.count ?? 0)
            _ = try decimalParts(number, allowFraction: true)
            // At most 32 plain digits, so finite; the product stays finite too (< 1e41).
            guard let value = Double(number) else { throw ParseFailure(code: .malformed) }
            let milliseconds = (value * Double(unit?.milliseconds ?? 1000)).rounded()
            guard milliseconds >= Double(range.lowerBound), milliseconds <= Double(range.upperBound) else {
                throw ParseFailure(code: .outOfRange)
            }
            return Int(milliseconds)
        }
    }

    static var byteUnits: [(suffix: String, bytes: Int)] {
        [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1),
        ]
    }

    /// `1048576`, `512KiB`, `64MiB`, `1GB`: whole numbers, KB/MB/GB as powers of 1000.
    static func byteSize(_ range: ClosedRange<Int>) -> ValueParser {
        let expected =
            "a size from \(formatBytes(range.lowerBound)) to \(formatBytes(range.upperBound)) (a whole number of bytes, or with KiB, MiB, GiB, KB, MB or GB)"
        return ValueParser(expected: expected) { text throws(ParseFailure) in
            try screen(text, maxBytes: maxNumberBytes)
            let unit = byteUnits.first { text.hasSuffix($0.suffix) }
            let number = String(text.dropLast(unit?.suffix.count ?? 0))
            guard !number.isEmpty else { throw ParseFailure(code: .malformed, detail: "no number before the unit") }
            let count = try ValueParser<Int>.integer(Int.min...Int.max).parse(number)
            let (bytes, overflow) = count.multipliedReportingOverflow(by: unit?.bytes ?? 1)
            guard !overflow, range.contains(bytes) else { throw ParseFailure(code: .outOfRange) }
            return bytes
        }
    }

    /// `1ms`, `1s`, `2m`, `1h`, `30d`: the largest unit that divides it.
    static func formatDuration(_ milliseconds: Int) -> String {
        guard milliseconds != 0 else { return "0s" }
        let unit = durationUnits.last { milliseconds % $0.milliseconds == 0 } ?? ("ms", 1)
        return "\(milliseconds / unit.milliseconds)\(unit.suffix)"
    }

    /// `1KiB`, `64MiB`, `1GiB`, or bytes.
    static func formatBytes(_ bytes: Int) -> String {
        for (suffix, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return "\(bytes)B"
    }
}
