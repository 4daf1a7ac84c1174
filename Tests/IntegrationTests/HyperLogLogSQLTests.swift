import EventGenerator
import Foundation
import LibPQ
import Sketches
import Testing

/// The worker's sketches against postgresql-hll itself: for the same values, `HyperLogLog` must write
/// the bytes `hll_add_agg(hll_hash_text(v), 14, 5, -1, 1)` writes, `MurmurHash3` must return
/// `hll_hash_text`, `cardinality` must equal `hll_cardinality`, and `hll_union` of two sketches built in
/// Swift must equal the SQL sketch of the union. Needs the `hll` extension (scripts/install-deps).
@Suite("HyperLogLog sketches built in Swift equal postgresql-hll's", .serialized)
struct HyperLogLogSQLTests {
    enum Values: String, CustomStringConvertible, CaseIterable {
        case userIDs = "user ids"
        case randomUTF8 = "random UTF-8"
        var description: String { rawValue }
    }

    static let sizes = [0, 1, 2, 100, 1279, 1280, 1281, 5000, 50_000, 300_000]

    /// A database with the extension; `CREATE EXTENSION` needs the superuser the private cluster has.
    static func connect() throws -> PQConnection {
        let connection = try TestDatabase.create("hll").connect()
        try connection.execute("CREATE EXTENSION IF NOT EXISTS hll")
        return connection
    }

    /// `u000001`, `u000002`, … (distinct).
    static func userIDs(_ count: Int, from first: Int = 1) -> [String] {
        (first..<first + count).map {
            let digits = String($0)
            return "u" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        }
    }

    /// Distinct values of 1–24 code points from ASCII, Latin, Greek, Cyrillic, kana, CJK and emoji, so the UTF-8 is 1 to
    /// 4 bytes a character and 1 to 96 bytes a value (every tail length). No NUL: text cannot hold it.
    static func randomUTF8(_ count: Int, seed: UInt64) -> [String] {
        let ranges: [ClosedRange<UInt32>] = [
            0x21...0x7E, 0xA1...0x17F, 0x391...0x3C9, 0x400...0x44F, 0x3041...0x3096, 0x4E00...0x9FFF,
            0x1F600...0x1F64F,
        ]
        var generator = SplitMix64(seed: seed)
        var seen = Set<String>()
        var values: [String] = []
        while values.count < count {  // distinct, so that 1 280 and 1 281 land on each side of the cutoff
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...24, using: &generator) {
                let range = ranges.randomElement(using: &generator)!
                text.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!)
            }
            if seen.insert(String(text)).inserted { values.append(String(text)) }
        }
        return values
    }

    static func values(_ kind: Values, _ count: Int) -> [String] {
        kind == .userIDs ? userIDs(count) : randomUTF8(count, seed: UInt64(count) + 17)
    }

    /// A `text[]` literal for `$1::text[]`: every element quoted, `\` and `"` escaped.
    static func arrayLiteral(_ values: [String]) -> String {
        var literal = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            literal += value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            literal += "\""
        }
        return literal + "}"
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func sketch(_ values: some Sequence<String>) -> HyperLogLog {
        var sketch = HyperLogLog()
        for value in values { sketch.add(hash: MurmurHash3.hash64(value)) }
        return sketch
    }

    /// hll has a cast from bytea but none to it: its text form is the bytes as `\x` and hex, read
    /// with `substr(h::text, 3)`.
    ///
    /// hll_add_agg returns NULL over no rows (its state starts NULL); the worker ships no row then,
    /// and the comparison takes hll_empty(14, 5, -1, 1), which is what an empty Swift sketch writes.
    static let sqlSketch = """
        COALESCE(hll_add_agg(hll_hash_text(v), 14, 5, -1, 1), hll_empty(14, 5, -1, 1))
        """

    @Test(
        "bytes, hashes and cardinality equal hll_add_agg, hll_hash_text and hll_cardinality",
        arguments: Values.allCases, sizes)
    func sameAsSQL(kind: Values, count: Int) throws {
        let connection = try Self.connect()
        let values = Self.values(kind, count)
        let literal = Self.arrayLiteral(values)
        let sketch = Self.sketch(values)

        let row = try connection.execute(
            """
            SELECT substr(\(Self.sqlSketch)::text, 3), hll_cardinality(\(Self.sqlSketch))::text,
                   hll_type(\(Self.sqlSketch)), count(DISTINCT v)
            FROM unnest($1::text[]) AS t(v)
            """, [literal])
        let sqlHex = row.value(0, 0) ?? ""
        let swiftHex = Self.hex(sketch.serialized())
        // Not #expect(a == b): a FULL sketch is 20 kB of hex; say where they differ instead.
        let firstDifference = zip(sqlHex, swiftHex).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            sqlHex == swiftHex,
            """
            \(kind) × \(count): SQL \(sqlHex.count / 2) bytes, type \(row.value(0, 2) ?? "?"); Swift \
            \(swiftHex.count / 2) bytes, \(sketch.representation); first difference at byte \
            \((firstDifference ?? -2) / 2)
            """)
        #expect(Int(row.value(0, 2) ?? "") == Int(sketch.representation.rawValue))
        // float8 text is the shortest string that reads back to the same double: equal means bit-equal.
        #expect(Double(row.value(0, 1) ?? "") == sketch.cardinality, "\(kind) × \(count)")

        let hashes = try connection.execute(
            "SELECT hll_hash_text(v)::text FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", [literal])
        #expect(hashes.rowCount == values.count)
        let mismatches = (0..<min(hashes.rowCount, values.count)).filter {
            Int64(hashes.value($0, 0) ?? "") != Int64(bitPattern: MurmurHash3.hash64(values[$0]))
        }
        #expect(
            mismatches.isEmpty, "\(mismatches.count) hashes differ, first \(mismatches.first.map { values[$0] } ?? "")")
        if count > HyperLogLog.explicitLimit {
            let distinct = Double(row.value(0, 3) ?? "") ?? 0
            print(
                "hll \(kind) \(count): \(sketch.representation), \(sketch.serializedCount) bytes, estimate "
                    + "\(sketch.cardinality) for \(Int(distinct)) distinct, error "
                    + String(format: "%+.3f%%", (sketch.cardinality - distinct) / distinct * 100))
        }
    }

    @Test("hll_add_agg over no rows is NULL, not EMPTY")
    func noRowsIsNull() throws {
        let connection = try Self.connect()
        let row = try connection.execute(
            "SELECT hll_add_agg(hll_hash_text(v), 14, 5, -1, 1) IS NULL FROM unnest('{}'::text[]) AS t(v)")
        #expect(row.value(0, 0) == "t")
    }

    @Test(
        "hll_union of two sketches sent as bytea equals the SQL sketch of the union, and formUnion",
        arguments: [(1, 1), (700, 700), (1000, 1000), (100, 5000), (5000, 100), (3000, 40_000), (60_000, 60_000)])
    func unionInSQL(left: Int, right: Int) throws {
        let connection = try Self.connect()
        // Overlapping: the right set starts halfway through the left one.
        let all = Self.userIDs(max(left, left / 2 + right))
        let a = Self.sketch(all[0..<left])
        let b = Self.sketch(all[(left / 2)..<(left / 2 + right)])
        let row = try connection.execute(
            """
            SELECT substr(hll_union(decode($1, 'hex')::hll, decode($2, 'hex')::hll)::text, 3),
                   substr(hll_add_agg(hll_hash_text(v), 14, 5, -1, 1)::text, 3)
            FROM unnest($3::text[]) AS t(v)
            """, [Self.hex(a.serialized()), Self.hex(b.serialized()), Self.arrayLiteral(all)])
        let union = row.value(0, 0) ?? "union"
        let rebuilt = row.value(0, 1) ?? "rebuilt"
        #expect(
            union == rebuilt, "\(left) ∪ \(right): hll_union \(union.count / 2) bytes, rebuilt \(rebuilt.count / 2)")
        var merged = a
        merged.formUnion(b)
        #expect(Self.hex(merged.serialized()) == rebuilt, "\(left) ∪ \(right): formUnion")
    }

    /// The estimate against the true count, 10 k to 1 M distinct values, several independent sets each
    /// (fresh id ranges). Swift's estimate is hll_cardinality's (sameAsSQL), so this is the error the
    /// rollups will show. Printed for the report; the bound is a loose 5 standard errors (5 × 0.81 %).
    @Test("estimate error for 10 k to 1 M distinct values")
    func estimateError() {
        var first = 1_000_000
        for (count, trials) in [(10_000, 16), (30_000, 12), (100_000, 8), (300_000, 4), (1_000_000, 3)] {
            var errors: [Double] = []
            for _ in 0..<trials {
                var sketch = HyperLogLog()
                for n in first..<first + count {
                    sketch.add(hash: MurmurHash3.hash64("u" + String(n)))
                }
                first += count
                errors.append((sketch.cardinality - Double(count)) / Double(count))
            }
            let rms = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
            let worst = errors.map(abs).max() ?? 0
            let each = errors.map { String(format: "%+.2f", $0 * 100) }.joined(separator: " ")
            print(
                "hll error \(count) distinct, \(trials) sets: "
                    + String(format: "RMS %.3f%%, worst %.3f%%", rms * 100, worst * 100) + ", each (%) " + each)
            #expect(worst < 5 * 1.04 / Double(HyperLogLog.registerCount).squareRoot(), "\(count): \(errors)")
        }
    }
}
