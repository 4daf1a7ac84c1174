/// RFC 3339 parsing and the text PostgreSQL reads back, all in UTC microseconds.
public enum EventTime {
    static let microsPerSecond: Int64 = 1_000_000
    static let microsPerDay: Int64 = 86_400_000_000

    /// "YYYY-MM-DD HH:MM:SS.ffffff+00" (always 6 fraction digits, UTC) — PostgreSQL timestamptz input.
    ///
    /// Defined for years 0…9999, which covers every validated event; other
    /// instants still print deterministically but are not PostgreSQL input.
    public static func appendPostgresText(micros: Int64, to output: inout [UInt8]) {
        let days = Int64(dayNumber(micros: micros))
        // Remainder first: `days * microsPerDay` can overflow near Int64.min.
        var inDay = micros % microsPerDay
        if inDay < 0 { inDay += microsPerDay }
        let (year, month, day) = civilFromDays(days)
        let seconds = inDay / microsPerSecond
        let fraction = inDay % microsPerSecond

        // Years 0…9999 (every validated event): the 29 bytes go into one stack buffer and are
        // appended at once; digit by digit into the array cost about 1 400 instructions per
        // timestamp (a uniqueness check per append, a division per digit) in callgrind.
        guard (0...9999).contains(year) else {
            appendPostgresTextSlow(
                year: year, month: month, day: day, seconds: seconds, fraction: fraction, to: &output)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 29) { buffer in
            let base = buffer.baseAddress!
            putTwoDigits(year / 100, at: base)
            putTwoDigits(year % 100, at: base + 2)
            base[4] = UInt8(ascii: "-")
            putTwoDigits(month, at: base + 5)
            base[7] = UInt8(ascii: "-")
            putTwoDigits(day, at: base + 8)
            base[10] = UInt8(ascii: " ")
            putTwoDigits(seconds / 3600, at: base + 11)
            base[13] = UInt8(ascii: ":")
            putTwoDigits(seconds / 60 % 60, at: base + 14)
            base[16] = UInt8(ascii: ":")
            putTwoDigits(seconds % 60, at: base + 17)
            base[19] = UInt8(ascii: ".")
            putTwoDigits(fraction / 10_000, at: base + 20)
            putTwoDigits(fraction / 100 % 100, at: base + 22)
            putTwoDigits(fraction % 100, at: base + 24)
            base[26] = UInt8(ascii: "+")
            base[27] = UInt8(ascii: "0")
            base[28] = UInt8(ascii: "0")
            output.append(contentsOf: UnsafeBufferPointer(buffer))
        }
    }

    /// 0…99 as two ASCII digits.
    @inline(__always)
    private static func putTwoDigits(_ value: Int64, at pointer: UnsafeMutablePointer<UInt8>) {
        let tens = value / 10
        pointer[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: tens)
        pointer[1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value &- tens &* 10)
    }

    /// Any year, digit by digit: negative years and years past 9999 print deterministically.
    private static func appendPostgresTextSlow(
        year: Int64, month: Int64, day: Int64, seconds: Int64, fraction: Int64, to output: inout [UInt8]
    ) {
        var y = year
        if y < 0 {
            output.append(UInt8(ascii: "-"))
            y = -y
        }
        appendDigits(y, width: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &output)
        output.append(UInt8(ascii: " "))
        appendDigits(seconds / 3600, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(seconds / 60 % 60, width: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(seconds % 60, width: 2, to: &output)
        output.append(UInt8(ascii: "."))
        appendDigits(fraction, width: 6, to: &output)
        output.append(UInt8(ascii: "+"))
        output.append(UInt8(ascii: "0"))
        output.append(UInt8(ascii: "0"))
    }

    /// Days since 1970-01-01 (floor), for daily partitions.
    public static func dayNumber(micros: Int64) -> Int32 {
        var days = micros / microsPerDay
        if micros % microsPerDay < 0 { days -= 1 }
        // |Int64| / µs-per-day is about 1.07e8, always within Int32.
        return Int32(truncatingIfNeeded: days)
    }

    /// Parses RFC 3339 (as the validator does) → UTC micros, or nil.
    ///
    /// Accepts `T`, `t` or a space between date and time (RFC 3339 §5.6 note),
    /// `Z`/`z` or ±HH:MM, a fraction of any length rounded half-up to microseconds,
    /// and second 60, which rolls into the next minute as PostgreSQL does.
    public static func parseRFC3339(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let n = bytes.count
        // Shortest form: "YYYY-MM-DDTHH:MM:SSZ".
        guard n >= 20 else { return nil }
        guard let year = digits(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"),
            let month = digits(bytes, 5, 2), bytes[7] == UInt8(ascii: "-"),
            let day = digits(bytes, 8, 2),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t")
                || bytes[10] == UInt8(ascii: " "),
            let hour = digits(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"),
            let minute = digits(bytes, 14, 2), bytes[16] == UInt8(ascii: ":"),
            let second = digits(bytes, 17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var i = 19
        var fractionMicros: Int64 = 0
        if bytes[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            var scale: Int64 = 100_000
            while i < n, let d = digitValue(bytes[i]) {
                let position = i - start
                if position < 6 {
                    fractionMicros += Int64(d) * scale
                    scale /= 10
                } else if position == 6, d >= 5 {
                    // Half-up on the 7th digit; later digits cannot change that decision.
                    fractionMicros += 1
                }
                i += 1
            }
            guard i > start else { return nil }
        }

        guard i < n else { return nil }
        var offsetSeconds: Int64 = 0
        switch bytes[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard n - i == 6, let oh = digits(bytes, i + 1, 2), bytes[i + 3] == UInt8(ascii: ":"),
                let om = digits(bytes, i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (bytes[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * microsPerSecond + fractionMicros
    }

    // MARK: - Calendar (proleptic Gregorian, H. Hinnant's algorithms)

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day number (days since 1970-01-01); the generator's timestamps use it too.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    // MARK: - Digits

    @inline(__always)
    static func digitValue(_ byte: UInt8) -> UInt8? {
        let d = byte &- UInt8(ascii: "0")
        return d < 10 ? d : nil
    }

    /// A fixed-width run of ASCII digits.
    @inline(__always)
    static func digits(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ width: Int) -> Int64? {
        guard start + width <= bytes.count else { return nil }
        var value: Int64 = 0
        for i in start..<(start + width) {
            guard let d = digitValue(bytes[i]) else { return nil }
            value = value * 10 + Int64(d)
        }
        return value
    }

    static func appendDigits(_ value: Int64, width: Int, to output: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        // Wider values (years past 9999) keep all their digits.
        while divisor * 10 <= value { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            output.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
