import EventContract
import Testing

/// Reads binary COPY rows back the way PostgreSQL does (per row a field count, then
/// length-prefixed fields; the format's header and trailer are the sink's, not the writers'), so
/// tests check what lands in the tables.
enum CopyBinaryRows {
    /// The rows' fields as raw bytes; nil is NULL (length -1).
    static func parse(_ data: [UInt8]) -> [[[UInt8]?]] {
        var position = 0
        func integer(_ bytes: Int) -> Int64 {
            defer { position += bytes }
            return data[position..<(position + bytes)].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        var rows: [[[UInt8]?]] = []
        while position < data.count {
            let fields = Int16(truncatingIfNeeded: integer(2))
            rows.append(
                (0..<Int(fields)).map { _ in
                    let length = Int32(truncatingIfNeeded: integer(4))
                    guard length >= 0 else { return nil }
                    defer { position += Int(length) }
                    return Array(data[position..<(position + Int(length))])
                })
        }
        #expect(position == data.count, "the last row ends where the data does")
        return rows
    }

    /// `staging.events` rows (`EventBatch.eventColumns`) with each field as PostgreSQL prints it
    /// (the payload as its JSON text), so tests read them as they would in psql.
    static func eventRows(_ data: [UInt8]) -> [[[UInt8]?]] {
        parse(data).map { row in
            #expect(row.count == 10)
            // uuid, timestamps and integers decoded; text and json (whose binary form is its text) as sent.
            let decoders: [([UInt8]?) -> String?] = [
                uuid, nil, timestamp, nil, nil, nil, integer, integer, timestamp, integer,
            ].map { $0 ?? { $0.map { String(decoding: $0, as: UTF8.self) } } }
            return zip(row, decoders).map { field, decode in
                field.map { _ in Array((decode(field) ?? "<malformed>").utf8) }
            }
        }
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
