/// The JSON kinds the field rules care about.
enum JSONKind: UInt8, Sendable {
    case absent, string, number, object, array, bool, null
}

/// A single forward pass over RFC 8259 JSON that validates as it goes and
/// builds nothing: strings come back as byte ranges, containers are skipped.
///
/// It also enforces what PostgreSQL `jsonb` refuses beyond RFC 8259: `\u0000`,
/// ill-formed UTF-8 and numbers that `numeric` cannot hold.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    var pos: Int = 0

    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.end = count
        self.maxDepth = maxDepth
    }

    // MARK: - Whitespace and punctuation

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos += 1
            default: return
            }
        }
    }

    /// The byte at `pos`, failing at end of input.
    @inline(__always)
    func current() throws(ScanError) -> UInt8 {
        guard pos < end else { throw ScanError(.unexpectedEnd, at: pos) }
        return base[pos]
    }

    @inline(__always)
    mutating func expect(_ byte: UInt8, _ what: StaticString) throws(ScanError) {
        guard try current() == byte else { throw ScanError(.unexpectedByte(expected: what), at: pos) }
        pos += 1
    }

    // MARK: - Values

    /// Scans any value at `pos` (whitespace already skipped). `level` is the
    /// nesting level a container here would have.
    @inline(__always)
    mutating func scanValue(level: Int) throws(ScanError) -> (kind: JSONKind, hasEscapes: Bool) {
        switch try current() {
        case UInt8(ascii: "\""):
            let slice = try scanString()
            return (.string, slice.hasEscapes)
        case UInt8(ascii: "{"):
            try skipContainer(level: level)
            return (.object, false)
        case UInt8(ascii: "["):
            try skipContainer(level: level)
            return (.array, false)
        default:
            return (try scanScalar(), false)
        }
    }

    /// Numbers and literals; strings are handled too so nested scanning can share it.
    @inline(__always)
    mutating func scanScalar() throws(ScanError) -> JSONKind {
        let byte = try current()
        switch byte {
        case UInt8(ascii: "\""):
            _ = try scanString()
            return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try scanNumber()
            return .number
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return .bool
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return .bool
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return .null
        default:
            throw ScanError(.unexpectedByte(expected: "a JSON value"), at: pos)
        }
    }

    @inline(__always)
    mutating func scanLiteral(_ literal: StaticString) throws(ScanError) {
        let n = literal.utf8CodeUnitCount
        let text = literal.utf8Start
        for k in 0..<n {
            guard pos + k < end else { throw ScanError(.unexpectedEnd, at: pos + k) }
            guard base[pos + k] == text[k] else {
                throw ScanError(.unexpectedByte(expected: "a JSON value"), at: pos + k)
            }
        }
        pos += n
    }

    // MARK: - Containers

    /// Skips the array or object at `pos`, which sits at nesting `level`.
    /// Iterative, with one bit per open container, so a deep `maxDepth`
    /// cannot overflow the thread's stack.
    mutating func skipContainer(level: Int) throws(ScanError) {
        guard level <= maxDepth else { throw ScanError(.tooDeep(limit: maxDepth), at: pos) }
        // Every open container costs a byte, which bounds the stack by the message too.
        let maxOpen = min(maxDepth - level + 1, end - pos)
        let words = maxOpen / 64 + 1
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) {
            (bits) throws(ScanError) in
            try skipNested(level: level, isArrayBits: bits)
        }
    }

    private mutating func skipNested(level: Int, isArrayBits bits: UnsafeMutableBufferPointer<UInt64>)
        throws(ScanError)
    {
        var open = 0
        openContainer: while true {
            guard level + open <= maxDepth else { throw ScanError(.tooDeep(limit: maxDepth), at: pos) }
            let isArray = base[pos] == UInt8(ascii: "[")
            let mask: UInt64 = 1 << UInt64(open & 63)
            if isArray { bits[open >> 6] |= mask } else { bits[open >> 6] &= ~mask }
            open += 1
            pos += 1
            skipWhitespace()
            if try current() == (isArray ? UInt8(ascii: "]") : UInt8(ascii: "}")) {
                pos += 1
                open -= 1
            } else {
                if !isArray { try scanKeyAndColon() }
                let byte = base[pos]
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { continue openContainer }
                _ = try scanScalar()
            }
            while open > 0 {
                skipWhitespace()
                let inArray = bits[(open - 1) >> 6] & (1 << UInt64((open - 1) & 63)) != 0
                let byte = try current()
                if byte == UInt8(ascii: ",") {
                    pos += 1
                    skipWhitespace()
                    if !inArray { try scanKeyAndColon() }
                    let next = try current()
                    if next == UInt8(ascii: "{") || next == UInt8(ascii: "[") { continue openContainer }
                    _ = try scanScalar()
                } else if byte == (inArray ? UInt8(ascii: "]") : UInt8(ascii: "}")) {
                    pos += 1
                    open -= 1
                } else {
                    throw ScanError(.unexpectedByte(expected: inArray ? "',' or ']'" : "',' or '}'"), at: pos)
                }
            }
            return
        }
    }

    /// `"key"` `:` and the whitespace after it, leaving `pos` on the value.
    @inline(__always)
    mutating func scanKeyAndColon() throws(ScanError) {
        guard try current() == UInt8(ascii: "\"") else {
            throw ScanError(.unexpectedByte(expected: "a string key"), at: pos)
        }
        _ = try scanString()
        skipWhitespace()
        try expect(UInt8(ascii: ":"), "':'")
        skipWhitespace()
        _ = try current()
    }

    // MARK: - Strings

    /// Scans the string whose opening quote is at `pos`.
    @inline(__always)
    mutating func scanString() throws(ScanError) -> JSONStringSlice {
        pos += 1
        let start = pos
        var hasEscapes = false
        while true {
            skipPlainStringBytes()
            guard pos < end else { throw ScanError(.unexpectedEnd, at: pos) }
            let byte = base[pos]
            if byte == UInt8(ascii: "\"") {
                let slice = JSONStringSlice(range: start..<pos, hasEscapes: hasEscapes)
                pos += 1
                return slice
            } else if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw ScanError(.controlCharacter, at: pos)
            } else if byte >= 0x80 {
                let length = UTF8Validation.sequenceLength(base, pos, end)
                guard length > 0 else { throw ScanError(.invalidUTF8, at: pos) }
                pos += length
            } else {
                pos += 1
            }
        }
    }

    /// Skips ASCII bytes that need no attention (not `"`, `\`, control or
    /// non-ASCII), eight at a time: most of a message is such bytes.
    @inline(__always)
    mutating func skipPlainStringBytes() {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while end - pos >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // Classic "has zero byte" / "has byte less than n" tricks; the lowest
            // flagged byte is always a true hit (false flags only sit above one).
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                | ((word &- ones &* 0x20) & ~word) | word
            let flagged = special & highs
            if flagged != 0 {
                pos += flagged.trailingZeroBitCount >> 3
                return
            }
            pos += 8
        }
        while pos < end {
            let byte = base[pos]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 {
                return
            }
            pos += 1
        }
    }

    /// The escape whose backslash is at `pos`.
    @inline(__always)
    mutating func scanEscape() throws(ScanError) {
        guard pos + 1 < end else { throw ScanError(.unexpectedEnd, at: pos) }
        switch base[pos + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            pos += 2
        case UInt8(ascii: "u"):
            let unit = try hex4(at: pos + 2)
            switch unit {
            case 0:
                throw ScanError(.nulEscape, at: pos)
            case 0xD800...0xDBFF:
                // Only a `\u` low surrogate may follow; anything else leaves it lone.
                guard pos + 7 < end, base[pos + 6] == UInt8(ascii: "\\"),
                    base[pos + 7] == UInt8(ascii: "u"),
                    let low = hex4OrNil(at: pos + 8), (0xDC00...0xDFFF).contains(low)
                else { throw ScanError(.loneHighSurrogate, at: pos) }
                pos += 12
            case 0xDC00...0xDFFF:
                throw ScanError(.loneLowSurrogate, at: pos)
            default:
                pos += 6
            }
        default:
            throw ScanError(.invalidEscape, at: pos)
        }
    }

    @inline(__always)
    func hex4OrNil(at i: Int) -> UInt32? {
        guard i + 4 <= end else { return nil }
        var value: UInt32 = 0
        for k in 0..<4 {
            guard let digit = hexValue(base[i + k]) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    @inline(__always)
    func hex4(at i: Int) throws(ScanError) -> UInt32 {
        guard let value = hex4OrNil(at: i) else {
            throw ScanError(i + 4 > end ? .unexpectedEnd : .invalidEscape, at: i - 2)
        }
        return value
    }

    // MARK: - Numbers

    /// RFC 8259 number grammar, plus the limits of PostgreSQL `numeric`.
    @inline(__always)
    mutating func scanNumber() throws(ScanError) {
        let start = pos
        if base[pos] == UInt8(ascii: "-") { pos += 1 }
        let first = try current()
        let intStart = pos
        let intNonzero: Bool
        if first == UInt8(ascii: "0") {
            pos += 1
            intNonzero = false
            if pos < end, isDigit(base[pos]) { throw ScanError(.leadingZero, at: start) }
        } else if isDigit(first) {
            intNonzero = true
            pos += 1
            while pos < end, isDigit(base[pos]) { pos += 1 }
        } else {
            throw ScanError(.malformedNumber, at: start)
        }
        let intDigits = pos - intStart

        var fracDigits = 0
        var firstNonzeroFraction = 0  // 1-based position, 0 when none
        if pos < end, base[pos] == UInt8(ascii: ".") {
            pos += 1
            let fracStart = pos
            while pos < end, isDigit(base[pos]) {
                if firstNonzeroFraction == 0, base[pos] != UInt8(ascii: "0") {
                    firstNonzeroFraction = pos - fracStart + 1
                }
                pos += 1
            }
            fracDigits = pos - fracStart
            guard fracDigits > 0 else { throw ScanError(.malformedNumber, at: start) }
        }

        var exponent = 0
        if pos < end, base[pos] | 0x20 == UInt8(ascii: "e") {
            pos += 1
            var negative = false
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") {
                negative = base[pos] == UInt8(ascii: "-")
                pos += 1
            }
            let expStart = pos
            while pos < end, isDigit(base[pos]) {
                // Saturate: anything this large is already out of range.
                if exponent < 1 << 40 { exponent = exponent * 10 + Int(base[pos] &- UInt8(ascii: "0")) }
                pos += 1
            }
            guard pos > expStart else { throw ScanError(.malformedNumber, at: start) }
            if negative { exponent = -exponent }
        }

        // Without an exponent the digit counts alone decide, so the common case is two compares.
        if exponent != 0 || intDigits > NumericLimits.maxIntegerDigits
            || fracDigits > NumericLimits.maxScale
        {
            let shape = NumberShape(
                integerDigits: intDigits, integerIsNonzero: intNonzero, fractionDigits: fracDigits,
                firstNonzeroFraction: firstNonzeroFraction, exponent: exponent)
            guard shape.fitsPostgresNumeric else {
                // PostgreSQL lexes the next token before converting the number, so a
                // stray byte right after it (as in `1e200000.5`) is what it reports.
                var next = pos
                while next < end,
                    base[next] == 0x20 || base[next] == 0x0A || base[next] == 0x0D || base[next] == 0x09
                {
                    next += 1
                }
                if next < end, !startsToken(base[next]) {
                    throw ScanError(.unexpectedByte(expected: "',' or a closing bracket"), at: next)
                }
                throw ScanError(.numberOutOfRange, at: start)
            }
        }
    }

    /// Bytes that can begin a JSON token.
    func startsToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "{"), UInt8(ascii: "}"),
            UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\""), UInt8(ascii: "-"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"),
            UInt8(ascii: "n"):
            true
        default:
            false
        }
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
