/// UTF-8 well-formedness as PostgreSQL's `pg_utf8_islegal` sees it (Unicode
/// Table 3-7): no overlongs, no encoded surrogates, nothing above U+10FFFF,
/// no truncated sequences. Noncharacters such as U+FFFE are legal.
enum UTF8Validation {
    /// Length of the well-formed multi-byte sequence starting at `i` (whose
    /// first byte is ≥ 0x80), or 0 when it is ill-formed or truncated.
    @inline(__always)
    static func sequenceLength(_ base: UnsafePointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let lead = base[i]
        let length: Int
        // Allowed range of the second byte; the rest are plain 80…BF.
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F  // excludes UTF-16 surrogates
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F  // nothing above U+10FFFF
        default: return 0  // stray continuation, C0/C1 overlongs, F5…FF
        }
        guard end - i >= length else { return 0 }
        let second = base[i + 1]
        guard second >= low, second <= high else { return 0 }
        for k in 2..<length where base[i + k] & 0xC0 != 0x80 { return 0 }
        return length
    }

    /// Offset of the first ill-formed byte, or nil. Used on the reject path
    /// only, so that a message with bad UTF-8 anywhere is reported as
    /// `invalid_utf8` whatever JSON error the parser met first: PostgreSQL
    /// checks the encoding of the whole row before it looks at the JSON.
    /// A raw 0x00 byte counts as invalid too: it is well-formed UTF-8, but
    /// PostgreSQL refuses it in text as "invalid byte sequence", before any JSON
    /// parsing, so that is the reason it would give.
    static func firstInvalidOffset(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        var i = 0
        while i < count {
            if base[i] == 0 { return i }
            if base[i] < 0x80 {
                i += 1
                continue
            }
            let length = sequenceLength(base, i, count)
            if length == 0 { return i }
            i += length
        }
        return nil
    }
}
