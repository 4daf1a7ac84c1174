import EventContract
import Testing

/// Reads binary COPY data back the way PostgreSQL does (signature, flags, header extension, then
/// rows of length-prefixed fields, then -1), so tests check what lands in the tables.
enum CopyBinaryRows {
    /// The rows' fields as raw bytes; nil is NULL (length -1).
    static func parse(_ data: [UInt8]) -> [[[UInt8]?]] {
        guard !data.isEmpty else { return [] }
        #expect(Array(data.prefix(11)) == Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00], "the signature")
        var position = 19  // signature, flags, header extension length (0)
        func integer(_ bytes: Int) -> Int64 {
            defer { position += bytes }
            return data[position..<(position + bytes)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        var rows: [[[UInt8]?]] = []
        while true {
            let fields = Int16(truncatingIfNeeded: integer(2))
            if fields == -1 { break }
            rows.append(
                (0..<Int(fields)).map { _ in
                    let length = Int32(truncatingIfNeeded: integer(4))
                    guard length >= 0 else { return nil }
                    defer { position += Int(length) }
                    return Array(data[position..<(position + Int(length))])
                })
        }
        #expect(position == data.count, "nothing after the trailer")
        return rows
    }

    /// A binary uuid in its canonical text.
    static func uuid(_ field: [UInt8]?) -> String? {
        guard let field, field.count == 16 else { return nil }
        let word = { (range: Range<Int>) in field[range].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        var text: [UInt8] = []
        UUIDBytes(high: word(0..<8), low: word(8..<16)).appendCanonical(to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// A binary timestamptz as PostgreSQL prints it in UTC.
    static func timestamp(_ field: [UInt8]?) -> String? {
        guard let field, field.count == 8 else { return nil }
        let postgresMicros = Int64(bitPattern: field.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        var text: [UInt8] = []
        EventTime.appendPostgresText(micros: postgresMicros + 946_684_800_000_000, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// A binary non-negative numeric as PostgreSQL prints it (its display scale of decimals).
    static func numeric(_ field: [UInt8]?) -> String? {
        guard let field, field.count >= 8 else { return nil }
        func int16(_ at: Int) -> Int { Int(Int16(bitPattern: UInt16(field[at]) << 8 | UInt16(field[at + 1]))) }
        let (count, weight, sign, scale) = (int16(0), int16(2), int16(4), int16(6))
        guard sign == 0, field.count == 8 + 2 * count else { return nil }
        // The base-10 000 digit of weight w (10 000^w), zero outside the ones sent.
        let group = { (w: Int) -> String in
            let index = weight - w
            let text = String(index >= 0 && index < count ? int16(8 + 2 * index) : 0)
            return String(repeating: "0", count: 4 - text.count) + text
        }
        var integer = stride(from: max(weight, 0), through: 0, by: -1).map(group).joined()
        while integer.count > 1 && integer.first == "0" { integer.removeFirst() }
        let fraction = String((1...max(1, (scale + 3) / 4)).map { group(-$0) }.joined().prefix(scale))
        return scale == 0 ? integer : integer + "." + fraction
    }

    /// A binary int4 or int8 in decimal.
    static func integer(_ field: [UInt8]?) -> String? {
        guard let field, field.count == 4 || field.count == 8 else { return nil }
        let value = field.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return field.count == 4 ? String(Int32(truncatingIfNeeded: value)) : String(Int64(bitPattern: value))
    }
}
