import Sketches
import Testing

/// The representation, layout and thresholds of `HyperLogLog` without a database; the
/// IntegrationTests compare it byte for byte with postgresql-hll itself.
@Suite("HyperLogLog storage format and promotion")
struct HyperLogLogTests {
    /// A hash that sets register `index` to `rank` once the sketch has registers: the low 14 bits
    /// pick the register, and `rank - 1` trailing zeros above them give the rank.
    static func hash(index: Int, rank: Int) -> UInt64 { UInt64(1) << UInt64(14 + rank - 1) | UInt64(index) }

    static func sketch(_ hashes: some Sequence<UInt64>) -> HyperLogLog {
        var sketch = HyperLogLog()
        for hash in hashes { sketch.add(hash: hash) }
        return sketch
    }

    /// The hashes of `u000000`, `u000001`, …
    static func userIDs(_ range: Range<Int>) -> [UInt64] {
        range.map {
            let digits = String($0)
            return MurmurHash3.hash64("u" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits)
        }
    }

    @Test("EMPTY is the 3-byte header of hll_empty(14, 5, -1, 1)")
    func empty() {
        let sketch = HyperLogLog()
        #expect(sketch.serialized() == [0x11, 0x8E, 0x7F])
        #expect(sketch.representation == .empty)
        #expect(sketch.cardinality == 0)
    }

    @Test(
        "EXPLICIT: {u1, u2} as hll_add_agg(hll_hash_text(v), 14, 5, -1, 1) wrote it, in any order, duplicates ignored")
    func explicitPair() {
        // SELECT hll_add_agg(hll_hash_text(v), 14, 5, -1, 1) FROM (VALUES ('u1'), ('u2')) t(v)
        let expected: [UInt8] = [
            0x12, 0x8E, 0x7F, 0x19, 0xB6, 0x39, 0xEC, 0xC9, 0x07, 0xA4, 0x02, 0x73, 0x9A, 0xEF, 0x4F, 0xD4, 0xF0,
            0xB5, 0xF5,
        ]
        let u1 = MurmurHash3.hash64("u1")
        let u2 = MurmurHash3.hash64("u2")
        #expect(Self.sketch([u1, u2]).serialized() == expected)
        #expect(Self.sketch([u2, u1, u2, u1]).serialized() == expected)
        #expect(Self.sketch([u2, u1, u2]).cardinality == 2)
    }

    @Test("EXPLICIT hashes ascend as signed integers (the specification's own example)")
    func explicitSignedOrder() {
        // Storage specification, EXPLICIT: [0xCBA79700677CDEAA, 1] = 0xCBA79700677CDEAA0000000000000001,
        // negative first. (The specification's decimal for it, -5451491901947305642, is 0xB45868FF98832156:
        // its example disagrees with itself; the hex is what the layout shows.)
        var sketch = HyperLogLog()
        sketch.add(hash: Int64(1))
        sketch.add(hash: UInt64(0xCBA7_9700_677C_DEAA))
        #expect(
            sketch.serialized() == [
                0x12, 0x8E, 0x7F, 0xCB, 0xA7, 0x97, 0x00, 0x67, 0x7C, 0xDE, 0xAA, 0, 0, 0, 0, 0, 0, 0, 1,
            ])
    }

    @Test("1 280 distinct hashes stay EXPLICIT; a duplicate does not promote; the 1 281st promotes to SPARSE")
    func explicitThreshold() {
        #expect(HyperLogLog.explicitLimit == 1280)
        let hashes = (1...1281).map { Self.hash(index: $0, rank: 1) }
        var sketch = Self.sketch(hashes.prefix(1280))
        #expect(sketch.representation == .explicit)
        #expect(sketch.serializedCount == 3 + 8 * 1280)
        #expect(sketch.serialized().count == sketch.serializedCount)
        #expect(sketch.cardinality == 1280)
        sketch.add(hash: hashes[0])
        #expect(sketch.representation == .explicit)
        sketch.add(hash: hashes[1280])
        #expect(sketch.representation == .sparse)
        #expect(sketch.serializedCount == 3 + (1281 * 19 + 7) / 8)
        #expect(sketch.serialized().count == sketch.serializedCount)
    }

    @Test("SPARSE while filled × 19 bits < 16 384 × 5: 4 311 filled registers are SPARSE, 4 312 FULL")
    func sparseThreshold() {
        #expect(HyperLogLog.sparseLimit == 4311)
        var sketch = Self.sketch((0..<4311).map { Self.hash(index: $0, rank: 1) })
        #expect(sketch.representation == .sparse)
        #expect(sketch.serializedCount == 3 + 10_239)  // 81 909 bits
        sketch.add(hash: Self.hash(index: 0, rank: 2))  // a register already filled: still 4 311
        #expect(sketch.representation == .sparse)
        sketch.add(hash: Self.hash(index: 4311, rank: 1))
        #expect(sketch.representation == .full)
        #expect(sketch.serializedCount == 3 + 10_240)
        #expect(sketch.serialized().count == sketch.serializedCount)
        #expect(sketch.serialized().prefix(3) == [0x14, 0x8E, 0x7F])
    }

    @Test("SPARSE words are (index << 5 | value) in 19 bits, high bits first; ranks cap at 31; a zero rest adds 0")
    func sparseLayout() {
        var hashes = (2...1281).map { Self.hash(index: $0, rank: 1) }
        hashes.append(UInt64(1) << 50)  // register 0: rest 2^36, 37 trailing zeros + 1, capped at 31
        hashes.append(1)  // register 1: rest 0, rank 0: counted while explicit, no register after
        let sketch = Self.sketch(hashes)
        #expect(sketch.representation == .sparse)
        let bytes = sketch.serialized()
        // (0, 31) = 0000000000000011111, then (2, 1) = 0000000000001000001:
        // 00000000 00000011 11100000 00000001 00001…
        #expect(Array(bytes.prefix(7)) == [0x13, 0x8E, 0x7F, 0x00, 0x03, 0xE0, 0x01])
        #expect(bytes.count == 3 + (1281 * 19 + 7) / 8)
        // Padding: 1281 × 19 = 24 339 bits; the last byte holds 3 bits of (1281, 1) = …001, then zeros.
        #expect(bytes.last == 0b0010_0000)
    }

    @Test("FULL registers are 5-bit words, high bits first (the specification's 0, 1, 2, 3 → 0x00 0x44 0x3…)")
    func fullLayout() {
        var hashes = [Self.hash(index: 1, rank: 1), Self.hash(index: 2, rank: 2), Self.hash(index: 3, rank: 3)]
        hashes += (4..<5000).map { Self.hash(index: $0, rank: 1) }
        let sketch = Self.sketch(hashes)
        #expect(sketch.representation == .full)
        let bytes = sketch.serialized()
        // 00000 00001 00010 00011 00001 00001 … = 00000000 01000100 00110000 10000100 …
        #expect(Array(bytes.prefix(7)) == [0x14, 0x8E, 0x7F, 0x00, 0x44, 0x30, 0x84])
        #expect(bytes.last == 0)  // registers 16 376…16 383 are empty
    }

    @Test("round trip: serialized bytes read back to an equal sketch, in every representation")
    func roundTrip() throws {
        for count in [0, 1, 2, 100, 1280, 1281, 4000, 5000, 50_000] {
            let sketch = Self.sketch(Self.userIDs(0..<count))
            let bytes = sketch.serialized()
            #expect(bytes.count == sketch.serializedCount)
            let read = try HyperLogLog(serialized: bytes)
            #expect(read == sketch, "\(count) values")
            #expect(read.serialized() == bytes)
            #expect(read.cardinality == sketch.cardinality)
        }
    }

    @Test("bytes with other parameters, versions or lengths are refused")
    func refusesOthers() {
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x11, 0x8E]) }
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x21, 0x8E, 0x7F]) }
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x11, 0x8B, 0x7F]) }  // log2m 11
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x10, 0x8E, 0x7F]) }  // UNDEFINED
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x12, 0x8E, 0x7F, 1, 2, 3]) }
        #expect(throws: SketchError.self) {
            try HyperLogLog(serialized: [0x12, 0x8E, 0x7F] + [0, 0, 0, 0, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 1])
        }
        #expect(throws: SketchError.self) { try HyperLogLog(serialized: [0x14, 0x8E, 0x7F, 0]) }
    }

    @Test("a union equals the sketch of the union of the sets, across every pair of representations")
    func union() {
        let all = Self.userIDs(0..<20_000)
        for (a, b) in [(0, 0), (10, 20), (700, 700), (1000, 1000), (100, 5000), (5000, 100), (3000, 15_000)] {
            let left = Self.sketch(all[0..<a])
            let right = Self.sketch(all[(a / 2)..<(a / 2 + b)])  // overlapping halves
            var merged = left
            merged.formUnion(right)
            let whole = Self.sketch(all[0..<max(a, a / 2 + b)])
            #expect(merged == whole, "\(a) ∪ \(b)")
            #expect(merged.serialized() == whole.serialized())
        }
    }

    @Test("the estimate is within 3 standard errors (3 × 0.81 %) of the true count")
    func estimate() {
        for count in [2000, 10_000, 100_000] {
            let estimate = Self.sketch(Self.userIDs(0..<count)).cardinality
            #expect(abs(estimate - Double(count)) / Double(count) < 0.025, "\(count): \(estimate)")
        }
    }
}
