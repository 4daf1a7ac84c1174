#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A HyperLogLog sketch that is, bit for bit, what postgresql-hll builds with
/// `hll_add_agg(hash, 14, 5, -1, 1)` from the same hashes: the worker builds one per aggregate key and
/// batch and ships `serialized()` as `bytea`; PostgreSQL merges it with `hll_union` and reads it with
/// `hll_cardinality`, and a rebuild in SQL from the same values gives the same bytes.
///
/// The parameters are fixed (`log2m` 14, `regwidth` 5, `expthresh` -1, sparse on): 16 384 registers give
/// a standard error of 1.04 / √16384 ≈ 0.81 %, and sets of up to 1 280 distinct values stay exact.
///
/// Memory follows postgresql-hll's in-memory multiset (hll.c, `multiset_t`): a sorted list of the
/// distinct hashes while the set is small, then one byte per register (16 KiB), allocated only on
/// promotion. SPARSE exists only on the wire: hll.c packs its registers as SPARSE when that is smaller.
public struct HyperLogLog: Sendable, Hashable {
    /// log2 of the number of registers (`log2m`).
    public static let log2m = 14
    /// Bits per register (`regwidth`): values 0…31, enough for 2^31 × 2^14 distinct values.
    public static let registerWidth = 5
    public static let registerCount = 1 << log2m
    /// How many distinct hashes stay explicit. `expthresh` -1 means "auto", which hll.c
    /// (`expthresh_value`) resolves to as many 8-byte hashes as fit in the FULL registers' bytes:
    /// (5 × 16 384 + 7) / 8 / 8 = 1 280. The 1 281st distinct hash promotes the set to registers.
    public static let explicitLimit = (registerWidth * registerCount + 7) / 8 / 8
    /// The most filled registers that are still written as SPARSE: hll.c (`multiset_pack`) chooses
    /// SPARSE while its bits, filled × (log2m + regwidth), are strictly fewer than FULL's,
    /// 16 384 × 5 = 81 920, so 4 311 registers (81 909 bits) and not 4 312 (81 928).
    public static let sparseLimit = (registerCount * registerWidth - 1) / (log2m + registerWidth)

    /// The storage specification's types ("Schema Version 1", "Type-agnostic"), with its ordinals:
    /// the low nibble of the first byte.
    public enum Representation: UInt8, Sendable {
        case empty = 1
        case explicit = 2
        case sparse = 3
        case full = 4
    }

    static let maxRegisterValue = UInt8((1 << registerWidth) - 1)
    static let indexMask = UInt64(registerCount - 1)

    /// The distinct hashes while at most `explicitLimit`, ascending as *signed* 64-bit integers: the
    /// storage specification ("EXPLICIT": "signed 64-bit integer … stored in ascending order") and
    /// hll.c's `element_compare`, signed "to be compatible with the java code".
    private var explicitHashes: [Int64] = []
    /// One byte per register once promoted, else empty. hll.c's `compressed_add`.
    private var registers: [UInt8] = []
    /// Registers above zero: decides SPARSE or FULL and gives linear counting its zero count.
    private var filledRegisters = 0

    public init() {}

    /// The representation `serialized()` writes.
    public var representation: Representation {
        if registers.isEmpty { return explicitHashes.isEmpty ? .empty : .explicit }
        return filledRegisters <= Self.sparseLimit ? .sparse : .full
    }

    /// Adds a value's hash: `MurmurHash3.hash64` of its bytes, the value `hll_hash_text` returns.
    public mutating func add(hash: UInt64) {
        if !registers.isEmpty {
            addToRegisters(hash)
            return
        }
        // hll.c `multiset_add`: a hash already in the explicit list changes nothing, even when the
        // list is full; a new one is inserted in order, or promotes a full list to registers.
        let element = Int64(bitPattern: hash)
        let position = insertionPoint(of: element)
        if position < explicitHashes.count && explicitHashes[position] == element { return }
        if explicitHashes.count < Self.explicitLimit {
            explicitHashes.insert(element, at: position)
        } else {
            promote()
            addToRegisters(hash)
        }
    }

    /// Adds a hash as SQL's `hll_hashval` (a `bigint`) carries it.
    public mutating func add(hash: Int64) { add(hash: UInt64(bitPattern: hash)) }

    /// Adds the hash of `bytes` (a user id's UTF-8 bytes, borrowed from the payload).
    public mutating func add(bytes: UnsafeRawBufferPointer) { add(hash: MurmurHash3.hash64(bytes)) }

    /// The union, as `hll_union` computes it: the other sketch's hashes added to this one, or its
    /// registers merged by maximum (hll.c `multiset_union`). Both have the same fixed parameters.
    public mutating func formUnion(_ other: HyperLogLog) {
        if other.registers.isEmpty {
            for element in other.explicitHashes { add(hash: element) }
            return
        }
        if registers.isEmpty { promote() }
        for index in 0..<Self.registerCount where registers[index] < other.registers[index] {
            if registers[index] == 0 { filledRegisters += 1 }
            registers[index] = other.registers[index]
        }
    }

    /// The estimate `hll_cardinality` returns for this sketch (hll.c `multiset_card`): exact while
    /// explicit; otherwise the HyperLogLog estimate with its small-range (linear counting) and
    /// large-range corrections, computed in the same order so that the doubles are equal.
    public var cardinality: Double {
        if registers.isEmpty { return Double(explicitHashes.count) }
        let m = Self.registerCount
        // Every term is 2^-r with r ≤ 31 and the total is below 2^15, so each partial sum fits in a
        // double's 53 bits exactly: the sum does not depend on the order of the terms.
        var sum = 0.0
        for value in registers { sum += 1.0 / Double(UInt64(1) << value) }
        let alphaMSquared = (0.7213 / (1.0 + 1.079 / Double(m))) * Double(m) * Double(m)
        let estimator = alphaMSquared / sum
        let zeroCount = m - filledRegisters
        if zeroCount != 0 && estimator < 5.0 * Double(m) / 2.0 {
            return Double(m) * log(Double(m) / Double(zeroCount))
        }
        // hll.c's 2^L with L = (2^regwidth - 2) + log2m = 44 bits of hash the registers can see.
        let twoToL = Double(UInt64(1) << UInt64((1 << Self.registerWidth) - 2 + Self.log2m))
        if estimator <= twoToL / 30.0 { return estimator }
        return -twoToL * log(1.0 - estimator / twoToL)
    }

    private func insertionPoint(of element: Int64) -> Int {
        var low = 0
        var high = explicitHashes.count
        while low < high {
            let middle = (low + high) / 2
            if explicitHashes[middle] < element { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// hll.c `explicit_to_compressed`: every explicit hash into fresh registers.
    private mutating func promote() {
        registers = [UInt8](repeating: 0, count: Self.registerCount)
        for element in explicitHashes { addToRegisters(UInt64(bitPattern: element)) }
        explicitHashes = []
    }

    /// hll.c `compressed_add`: the low log2m bits pick the register; the register keeps the largest
    /// 1 + (trailing zeros of the remaining bits), capped at 31; remaining bits all zero count as 0.
    private mutating func addToRegisters(_ hash: UInt64) {
        let index = Int(hash & Self.indexMask)
        let rest = hash >> UInt64(Self.log2m)
        let rank = rest == 0 ? 0 : UInt8(min(rest.trailingZeroBitCount + 1, Int(Self.maxRegisterValue)))
        let current = registers[index]
        if current < rank {
            if current == 0 { filledRegisters += 1 }
            registers[index] = rank
        }
    }
}

// MARK: - Storage format

extension HyperLogLog {
    /// Bytes `serialized()` writes.
    public var serializedCount: Int {
        switch representation {
        case .empty: return 3
        case .explicit: return 3 + 8 * explicitHashes.count
        case .sparse: return 3 + (filledRegisters * (Self.log2m + Self.registerWidth) + 7) / 8
        case .full: return 3 + (Self.registerCount * Self.registerWidth + 7) / 8
        }
    }

    /// The sketch in postgresql-hll's storage format (schema version 1), which `::hll` accepts.
    public func serialized() -> [UInt8] {
        var bytes: [UInt8] = []
        serialize(into: &bytes)
        return bytes
    }

    /// Appends `serialized()` to `buffer`, so that a loader can reuse one buffer for every key.
    public func serialize(into buffer: inout [UInt8]) {
        let representation = self.representation
        buffer.reserveCapacity(buffer.count + serializedCount)
        // Storage specification, "Schema Version 1", "Type-agnostic": the version in the top nibble
        // and the type in the bottom one; then P = (regwidth - 1) in the top 3 bits and log2m in the
        // low 5; then C = sparseEnabled in bit 6 and explicitCutoff in the low 6 bits, where 63
        // means "auto" (hll.c `encode_expthresh(-1)`).
        buffer.append(0x10 | representation.rawValue)
        buffer.append(UInt8((Self.registerWidth - 1) << 5 | Self.log2m))
        buffer.append(1 << 6 | 63)
        switch representation {
        case .empty:
            // "EMPTY: Uses no data bytes."
            break
        case .explicit:
            // "EXPLICIT": each hash as 8 big-endian bytes, ascending as signed, no duplicates.
            for element in explicitHashes {
                withUnsafeBytes(of: element.bigEndian) { buffer.append(contentsOf: $0) }
            }
        case .sparse:
            // "SPARSE": (index << regwidth | value) in log2m + regwidth = 19-bit words, ascending index,
            // packed from the high bits of the first byte; zero padding at the bottom of the last.
            var writer = BitWriter()
            for index in 0..<Self.registerCount where registers[index] != 0 {
                writer.write(
                    UInt64(index) << UInt64(Self.registerWidth) | UInt64(registers[index]),
                    width: Self.log2m + Self.registerWidth, to: &buffer)
            }
            writer.flush(to: &buffer)
        case .full:
            // "FULL": every register in 5-bit words, ascending index, packed the same way
            // (16 384 × 5 bits is exactly 10 240 bytes: no padding).
            var writer = BitWriter()
            for value in registers { writer.write(UInt64(value), width: Self.registerWidth, to: &buffer) }
            writer.flush(to: &buffer)
        }
    }

    /// Reads a sketch in the storage format with this type's parameters (what `serialized()` or
    /// `hll_add_agg(…, 14, 5, -1, 1)` writes). UNDEFINED, other parameters or inconsistent lengths
    /// throw.
    public init(serialized bytes: [UInt8]) throws(SketchError) {
        guard bytes.count >= 3 else {
            throw SketchError(.truncated, "\(bytes.count) bytes, fewer than the 3-byte header")
        }
        guard bytes[0] >> 4 == 1 else {
            throw SketchError(.unsupportedVersion, "schema version \(bytes[0] >> 4), expected 1")
        }
        guard bytes[1] == UInt8((Self.registerWidth - 1) << 5 | Self.log2m), bytes[2] == 1 << 6 | 63 else {
            throw SketchError(.unsupportedParameters, "parameter bytes \(bytes[1]), \(bytes[2])")
        }
        guard let representation = Representation(rawValue: bytes[0] & 0x0F) else {
            throw SketchError(.unsupportedType, "type \(bytes[0] & 0x0F)")
        }
        let data = bytes[3...]
        self.init()
        switch representation {
        case .empty:
            guard data.isEmpty else { throw SketchError(.inconsistentLength, "EMPTY with \(data.count) data bytes") }
        case .explicit:
            guard data.count % 8 == 0, data.count / 8 <= Self.explicitLimit else {
                throw SketchError(.inconsistentLength, "EXPLICIT with \(data.count) data bytes")
            }
            var previous: Int64?
            for start in stride(from: data.startIndex, to: data.endIndex, by: 8) {
                let element = data[start..<start + 8].reduce(Int64(0)) { $0 << 8 | Int64($1) }
                if let previous, previous >= element {
                    throw SketchError(.unorderedExplicit, "EXPLICIT hashes not strictly ascending")
                }
                explicitHashes.append(element)
                previous = element
            }
        case .sparse, .full:
            let width = representation == .sparse ? Self.log2m + Self.registerWidth : Self.registerWidth
            let words = representation == .sparse ? data.count * 8 / width : Self.registerCount
            guard data.count == (words * width + 7) / 8 else {
                throw SketchError(.inconsistentLength, "\(representation) with \(data.count) data bytes")
            }
            registers = [UInt8](repeating: 0, count: Self.registerCount)
            var reader = BitReader(bytes: data)
            for word in 0..<words {
                let value = reader.read(width: width)
                let (index, register) =
                    representation == .sparse
                    ? (Int(value >> UInt64(Self.registerWidth)), UInt8(value & UInt64(Self.maxRegisterValue)))
                    : (word, UInt8(value))
                if registers[index] == 0 && register != 0 { filledRegisters += 1 }
                registers[index] = register
            }
        }
    }
}

/// Packs words most significant bit first, as the storage specification's SPARSE and FULL do.
private struct BitWriter {
    private var pending: UInt64 = 0
    private var pendingBits = 0

    mutating func write(_ value: UInt64, width: Int, to buffer: inout [UInt8]) {
        pending = pending << UInt64(width) | value
        pendingBits += width
        while pendingBits >= 8 {
            pendingBits -= 8
            buffer.append(UInt8(truncatingIfNeeded: pending >> UInt64(pendingBits)))
        }
    }

    /// The last partial byte, padded with zero bits at the bottom.
    mutating func flush(to buffer: inout [UInt8]) {
        if pendingBits > 0 { buffer.append(UInt8(truncatingIfNeeded: pending << UInt64(8 - pendingBits))) }
        pendingBits = 0
    }
}

private struct BitReader {
    let bytes: ArraySlice<UInt8>
    private var position: Int
    private var pending: UInt64 = 0
    private var pendingBits = 0

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    mutating func read(width: Int) -> UInt64 {
        while pendingBits < width {
            pending = pending << 8 | UInt64(bytes[position])
            position += 1
            pendingBits += 8
        }
        pendingBits -= width
        return (pending >> UInt64(pendingBits)) & ((1 << UInt64(width)) - 1)
    }
}
