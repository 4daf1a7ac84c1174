import EventContract

/// Appends values in PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`): a
/// signature and two 32-bit words once, then per row a 16-bit field count and per field a 32-bit
/// length and the value in its type's binary form, in network byte order, then a 16-bit -1.
///
/// Where it pays: PostgreSQL stores a binary uuid, timestamp or integer without parsing text.
/// COPYing 300 000 claim rows into an unlogged `etl.event_ids` took 0.44–0.80 s as text and
/// 0.13–0.27 s binary on the benchmark machine (BENCHMARKS.md, fifth session).
public enum CopyBinary {
    public static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0, 0, 0, 0, 0]
    public static let trailer: [UInt8] = [0xFF, 0xFF]
    /// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01 00:00 UTC.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    /// A NULL field: length -1, no value.
    static func appendNull(to out: inout [UInt8]) {
        appendBigEndian(Int32(-1), to: &out)
    }

    static func appendFieldCount(_ count: Int16, to out: inout [UInt8]) {
        appendBigEndian(count, to: &out)
    }

    static func appendUUID(_ uuid: UUIDBytes, to out: inout [UInt8]) {
        appendBigEndian(Int32(16), to: &out)
        appendBigEndian(uuid.high, to: &out)
        appendBigEndian(uuid.low, to: &out)
    }

    /// A `timestamptz` from microseconds since the Unix epoch.
    static func appendTimestamp(micros: Int64, to out: inout [UInt8]) {
        appendBigEndian(Int32(8), to: &out)
        appendBigEndian(micros - postgresEpochMicros, to: &out)
    }

    static func appendInt32(_ value: Int32, to out: inout [UInt8]) {
        appendBigEndian(Int32(4), to: &out)
        appendBigEndian(value, to: &out)
    }

    static func appendInt64(_ value: Int64, to out: inout [UInt8]) {
        appendBigEndian(Int32(8), to: &out)
        appendBigEndian(value, to: &out)
    }

    /// `text` as its UTF-8 bytes, nothing escaped; also a type whose binary form is its bytes as
    /// they are (`json`, hll's sketches).
    static func appendText(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBytes { appendText($0, to: &out) }
    }

    static func appendText(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        appendBigEndian(Int32(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }

    /// A one-dimensional array of `count` elements of the type whose OID is `elementType`, as
    /// array_recv reads it: the dimensions (1), a has-nulls flag, the element type, the length
    /// and lower bound (1), then each element as a field, which `element` appends for its
    /// position, returning whether it appended a NULL.
    static func appendArray(
        elementType: UInt32, count: Int, to out: inout [UInt8], _ element: (Int, inout [UInt8]) -> Bool
    ) {
        let start = out.count
        appendBigEndian(Int32(0), to: &out)  // the field's length, set below
        appendBigEndian(Int32(1), to: &out)
        let flags = out.count
        appendBigEndian(Int32(0), to: &out)  // has nulls: set below when an element is NULL
        appendBigEndian(elementType, to: &out)
        appendBigEndian(Int32(count), to: &out)
        appendBigEndian(Int32(1), to: &out)
        var hasNulls = false
        for position in 0..<count where element(position, &out) { hasNulls = true }
        if hasNulls { out[flags + 3] = 1 }
        setBigEndian(Int32(out.count - start - 4), at: start, in: &out)
    }

    /// The element types of the arrays the worker writes (pg_type's OIDs, fixed for built-in
    /// types; an extension's type has its database's OID).
    static let int8Type: UInt32 = 20
    static let numericType: UInt32 = 1700

    /// The number of fields of the row that starts `tuple` (its first two bytes, big-endian).
    static func fieldCount(ofTuple tuple: ArraySlice<UInt8>) -> Int16 {
        Int16(tuple[tuple.startIndex]) << 8 | Int16(tuple[tuple.startIndex + 1])
    }

    /// The byte ranges of one row's fields in `tuple` (a field count, then per field a length and
    /// its bytes); nil for a NULL field. Made by the appends above, so trusted: the worker reads
    /// back its own rows only when it dead-letters one.
    static func fields(ofTuple tuple: ArraySlice<UInt8>) -> [Range<Int>?] {
        var position = tuple.startIndex
        func integer(_ bytes: Int) -> Int {
            defer { position += bytes }
            return Int(tuple[position..<(position + bytes)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        let count = Int(fieldCount(ofTuple: tuple))
        position += 2
        return (0..<count).map { _ in
            let length = Int32(bitPattern: UInt32(integer(4)))
            guard length >= 0 else { return nil }
            defer { position += Int(length) }
            return position..<(position + Int(length))
        }
    }

    /// A non-negative `numeric` (`units` × 10^-`scale`) as PostgreSQL's numeric_recv reads it: a
    /// digit count, the weight of the first digit, the sign, the display scale, then the digits
    /// in base 10 000, grouped from the decimal point, without leading or trailing zero groups.
    static func appendNumeric(_ value: DecimalSum, to out: inout [UInt8]) {
        // Most session pieces earn nothing: no digits at all, and no arrays built for them.
        guard value.units != 0 else { return appendNumericHeader(digits: 0, weight: 0, scale: value.scale, to: &out) }
        var decimal: [Int16] = []
        var rest = value.units
        repeat {
            decimal.append(Int16(rest % 10))
            rest /= 10
        } while rest > 0
        while decimal.count <= value.scale { decimal.append(0) }  // a digit before the point
        decimal.reverse()
        let integerDigits = decimal.count - value.scale
        let leading = (4 - integerDigits % 4) % 4
        var padded = [Int16](repeating: 0, count: leading)
        padded += decimal
        padded += [Int16](repeating: 0, count: (4 - value.scale % 4) % 4)
        var groups: [Int16] = []
        for start in stride(from: 0, to: padded.count, by: 4) {
            let high: Int16 = padded[start] * 1000 + padded[start + 1] * 100
            groups.append(high + padded[start + 2] * 10 + padded[start + 3])
        }
        var weight = (integerDigits + leading) / 4 - 1
        while groups.first == 0 {
            groups.removeFirst()
            weight -= 1
        }
        while groups.last == 0 { groups.removeLast() }
        appendNumericHeader(digits: groups.count, weight: weight, scale: value.scale, to: &out)
        for group in groups { appendBigEndian(group, to: &out) }
    }

    /// The field's length and numeric's four 16-bit words; the digits follow.
    private static func appendNumericHeader(digits: Int, weight: Int, scale: Int, to out: inout [UInt8]) {
        appendBigEndian(Int32(8 + 2 * digits), to: &out)
        appendBigEndian(Int16(digits), to: &out)
        appendBigEndian(Int16(weight), to: &out)
        appendBigEndian(Int16(0), to: &out)  // positive
        appendBigEndian(Int16(scale), to: &out)
    }

    private static func appendBigEndian<Value: FixedWidthInteger>(_ value: Value, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.append(contentsOf: $0) }
    }

    private static func setBigEndian(_ value: Int32, at position: Int, in out: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { out.replaceSubrange(position..<(position + 4), with: $0) }
    }
}
