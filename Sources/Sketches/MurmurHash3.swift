/// MurmurHash3_x64_128 (Austin Appleby's public-domain reference), as postgresql-hll hashes values:
/// `hll_hash_text`, `hll_hash_bytea` and `hll_hash_any` return the first 64-bit word of the 128-bit
/// result, seed 0, over the value's bytes (for text, its UTF-8 bytes without the varlena header).
/// A sketch built in the worker from these hashes equals the one `hll_add_agg` builds in SQL.
///
/// Runs once per event on the worker's hot path: it reads the caller's bytes in place and allocates
/// nothing. `@inlinable` so the loop is specialised into the caller's module.
public enum MurmurHash3 {
    /// The first 64 bits of MurmurHash3_x64_128 with seed 0 over `bytes`: `hll_hash_text(v)` or
    /// `hll_hash_bytea(v)` as an unsigned bit pattern (`Int64(bitPattern:)` gives the SQL `bigint`).
    @inlinable
    public static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var h1: UInt64 = 0  // the seed
        var h2: UInt64 = 0

        // Body: 16-byte blocks read as two little-endian words. The reference reads them with the
        // machine's byte order; postgresql-hll's values come from x86-64 and ARM64 builds, both
        // little-endian, so little-endian is what makes our hashes equal theirs on any host.
        var offset = 0
        while offset &+ 16 <= count {
            var k1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            var k2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset &+ 8, as: UInt64.self))
            k1 = mixK1(k1)
            h1 ^= k1
            h1 = rotateLeft(h1, 27) &+ h2
            h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = mixK2(k2)
            h2 ^= k2
            h2 = rotateLeft(h2, 31) &+ h1
            h2 = h2 &* 5 &+ 0x3849_5ab5
            offset &+= 16
        }

        // Tail: the last 0–15 bytes as little-endian words, bytes 0–7 into k1 and 8–14 into k2, each
        // mixed only when it holds a byte (the reference's fall-through switch). Read with whole-word
        // loads that end at the last byte, shifted down, instead of a byte loop whose length varies
        // with every id (its mispredicted branches cost more than the hash): never a read past `count`.
        let tail = count &- offset
        if tail > 0, let base = bytes.baseAddress {
            let k1: UInt64
            if count >= 8 {
                let last = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
                if tail > 8 {
                    k1 = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    h2 ^= mixK2(last &>> UInt64((16 &- tail) &* 8))
                } else {
                    k1 = last &>> UInt64((8 &- tail) &* 8)
                }
            } else if count >= 4 {
                // Two 4-byte loads that overlap: the shared bytes are the same in both.
                let low = UInt32(littleEndian: base.loadUnaligned(as: UInt32.self))
                let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self))
                k1 = UInt64(low) | UInt64(high) &<< UInt64((count &- 4) &* 8)
            } else {
                // 1–3 bytes: the first, middle and last byte cover them all.
                let middle = count &>> 1
                k1 =
                    UInt64(base.load(as: UInt8.self))
                    | UInt64(base.load(fromByteOffset: middle, as: UInt8.self)) &<< UInt64(middle &* 8)
                    | UInt64(base.load(fromByteOffset: count &- 1, as: UInt8.self)) &<< UInt64((count &- 1) &* 8)
            }
            h1 ^= mixK1(k1)
        }

        // Finalization. The reference xors in `len` as a 64-bit value.
        h1 ^= UInt64(truncatingIfNeeded: count)
        h2 ^= UInt64(truncatingIfNeeded: count)
        h1 &+= h2
        h2 &+= h1
        h1 = finalMix(h1)
        h2 = finalMix(h2)
        return h1 &+ h2
    }

    @inlinable
    static func rotateLeft(_ x: UInt64, _ r: UInt64) -> UInt64 { (x &<< r) | (x &>> (64 &- r)) }

    @inlinable
    static func mixK1(_ k: UInt64) -> UInt64 {
        rotateLeft(k &* 0x87c3_7b91_1142_53d5, 31) &* 0x4cf5_ad43_2745_937f
    }

    @inlinable
    static func mixK2(_ k: UInt64) -> UInt64 {
        rotateLeft(k &* 0x4cf5_ad43_2745_937f, 33) &* 0x87c3_7b91_1142_53d5
    }

    /// fmix64: forces every bit of the state to avalanche.
    @inlinable
    static func finalMix(_ value: UInt64) -> UInt64 {
        var k = value
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }
}

extension MurmurHash3 {
    /// `hll_hash_text(text)`: the hash of the string's UTF-8 bytes. For tests and cold paths; the
    /// worker hashes the payload's byte range directly.
    public static func hash64(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { hash64(UnsafeRawBufferPointer($0)) }
    }
}
