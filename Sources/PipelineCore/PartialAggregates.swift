import EventContract
import Sketches

/// A batch's partial aggregates, as `etl.aggregate_partials_statement` computes them from the
/// batch's staged rows, row for row: for every declaration, one row per bucket and dimension
/// values the batch touched, each measure at its position in the array of its kind (counts,
/// sums, sketches), the others NULL. The worker COPYs these rows into `etl.batch_partials` with
/// the batch, and the refresh merges them instead of reading the events back
/// (Tests/IntegrationTests/ShippedPartialsTests compares both ways).
public enum PartialAggregates {
    public static let columns =
        "batch_id, aggregate, bucket, event_type, page, country, currency, service, level, counts, sums, sketches"

    /// Writes binary COPY rows (`FORMAT binary`, CopyBinary; the sink sends the format's header
    /// and trailer) of every declaration's partials in chunks of about `chunkBytes`, leaving out
    /// the events at the positions `excluding` names; `sketchType` is the OID of hll's type in
    /// the database, which a binary array names. False when a sum left the exact range, found
    /// before that declaration's rows are written (the earlier declarations' rows may have been
    /// written: the caller abandons the COPY).
    public static func writeRows(
        of inputs: AggregateInputs, declarations: [AggregateDeclaration], batchID: Int64, sketchType: UInt32,
        excluding: Set<Int> = [], chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows -> Bool {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkBytes + chunkBytes / 10)
        for declaration in declarations {
            var table = KeyTable(declaration: declaration)
            for (index, event) in inputs.events.enumerated() where excluding.isEmpty || !excluding.contains(index) {
                table.add(event, inputs: inputs)
            }
            guard !table.overflowed else { return false }
            try table.writeRows(
                inputs: inputs, batchID: batchID, sketchType: sketchType, chunk: &chunk, chunkBytes: chunkBytes, write)
        }
        if !chunk.isEmpty { try write(chunk[...]) }
        return true
    }

    /// A bucket and the declared dimensions' values in `AggregateDeclaration.Dimension` order
    /// (`AggregateInputs.absent` for the others, and in the two unused lanes).
    struct Key: Hashable {
        var bucket: Int64
        var values: SIMD8<Int32>

        /// The key table looks a key up per event and declaration. Hashed member by member, a key
        /// fed the hasher nine words (SIMD8 hashes each lane) and SipHash took ~9 % of the
        /// worker's CPU; one word mixed from all of them, ~3.5 % (perf, BENCHMARKS.md "Twelfth
        /// session"). Equality still compares every member.
        func hash(into hasher: inout Hasher) {
            var mixed = UInt64(bitPattern: bucket)
            for lane in values.indices where lane.isMultiple(of: 2) {
                let word = UInt64(UInt32(bitPattern: values[lane])) << 32 | UInt64(UInt32(bitPattern: values[lane + 1]))
                mixed = (mixed ^ word) &* 0x9E37_79B9_7F4A_7C15
                mixed ^= mixed >> 29
            }
            hasher.combine(mixed)
        }
    }

    /// One declaration's keys and their measures, in flat arrays: key slot × measure.
    struct KeyTable {
        let declaration: AggregateDeclaration
        var slots: [Key: Int] = [:]
        var keys: [Key] = []
        var counts: [Int64] = []
        var sums: [DecimalSum] = []
        var sketches: [HyperLogLog] = []
        let declared: [Bool]

        init(declaration: AggregateDeclaration) {
            self.declaration = declaration
            declared = AggregateDeclaration.Dimension.allCases.map { declaration.dimensions.contains($0) }
        }

        mutating func add(_ event: AggregateInputs.Event, inputs: AggregateInputs) {
            if let types = declaration.eventTypes, !types.contains(event.type) { return }
            guard event.satisfies(declaration.onlyRows) else { return }
            let slot = self.slot(for: key(of: event, inputs: inputs))
            let measureCount = declaration.measures.count
            for (position, measure) in declaration.measures.enumerated() where event.satisfies(measure.condition) {
                let index = slot * measureCount + position
                switch measure {
                case .count: counts[index] += 1
                case .sumOfAmount: if let amount = event.amount { sums[index].add(amount) }
                case .distinctUsers: sketches[index].add(hash: inputs.userHashes[Int(event.user)])
                case .distinctSessions:
                    // hll_hash_text(NULL) is NULL, which hll_add_agg skips.
                    if event.flags & AggregateInputs.Event.inSession != 0 {
                        sketches[index].add(hash: event.sessionHash)
                    }
                }
            }
        }

        private func key(of event: AggregateInputs.Event, inputs: AggregateInputs) -> Key {
            func value(_ dimension: AggregateDeclaration.Dimension, _ position: Int) -> Int32 {
                declared[position] ? inputs.value(of: dimension, event) : AggregateInputs.absent
            }
            // date_bin from 2000-01-01 UTC, a whole number of hours after the epoch: the
            // widths divide an hour, so flooring from the epoch gives the same buckets.
            let width = declaration.bucketWidthMicros
            var bucket = event.timeMicros / width * width
            if bucket > event.timeMicros { bucket -= width }
            var values = SIMD8<Int32>(repeating: AggregateInputs.absent)
            for (position, dimension) in AggregateDeclaration.Dimension.allCases.enumerated() {
                values[position] = value(dimension, position)
            }
            return Key(bucket: bucket, values: values)
        }

        private mutating func slot(for key: Key) -> Int {
            if let slot = slots[key] { return slot }
            let slot = keys.count
            slots[key] = slot
            keys.append(key)
            let measureCount = declaration.measures.count
            counts.append(contentsOf: repeatElement(0, count: measureCount))
            sums.append(contentsOf: repeatElement(DecimalSum(), count: measureCount))
            sketches.append(contentsOf: repeatElement(HyperLogLog(), count: measureCount))
            return slot
        }

        /// Appends the table's binary COPY rows to `out`, handing it to `write` (and emptying
        /// it) whenever it holds `chunkBytes` or more.
        func writeRows(
            inputs: AggregateInputs, batchID: Int64, sketchType: UInt32, chunk out: inout [UInt8], chunkBytes: Int,
            _ write: (ArraySlice<UInt8>) throws -> Void
        ) rethrows {
            let measureCount = declaration.measures.count
            let name = Array(declaration.name.utf8)
            var sketch: [UInt8] = []
            for (slot, key) in keys.enumerated() {
                CopyBinary.appendFieldCount(12, to: &out)
                CopyBinary.appendInt64(batchID, to: &out)
                CopyBinary.appendText(name, to: &out)
                CopyBinary.appendTimestamp(micros: key.bucket, to: &out)
                for position in AggregateDeclaration.Dimension.allCases.indices {
                    let value = key.values[position]
                    if value == AggregateInputs.absent {
                        CopyBinary.appendNull(to: &out)
                    } else if position == 0 {
                        CopyBinary.appendText(EventBatch.eventTypeNames[Int(value)], to: &out)
                    } else {
                        inputs.values.withBytes(of: value) { CopyBinary.appendText($0, to: &out) }
                    }
                }
                // Arrays: one element per measure, NULL where the measure is of another kind.
                let base = slot * measureCount
                CopyBinary.appendArray(elementType: CopyBinary.int8Type, count: measureCount, to: &out) {
                    guard case .count = declaration.measures[$0] else { return appendNull(to: &$1) }
                    CopyBinary.appendInt64(counts[base + $0], to: &$1)
                    return false
                }
                CopyBinary.appendArray(elementType: CopyBinary.numericType, count: measureCount, to: &out) {
                    guard case .sumOfAmount = declaration.measures[$0] else { return appendNull(to: &$1) }
                    CopyBinary.appendNumeric(sums[base + $0], to: &$1)
                    return false
                }
                CopyBinary.appendArray(elementType: sketchType, count: measureCount, to: &out) {
                    switch declaration.measures[$0] {
                    case .distinctUsers, .distinctSessions:
                        // hll's binary form is its storage format, as serialize writes it.
                        sketch.removeAll(keepingCapacity: true)
                        sketches[base + $0].serialize(into: &sketch)
                        CopyBinary.appendText(sketch, to: &$1)
                        return false
                    default: return appendNull(to: &$1)
                    }
                }
                if out.count >= chunkBytes {
                    try write(out[...])
                    out.removeAll(keepingCapacity: true)
                }
            }
        }

        private func appendNull(to out: inout [UInt8]) -> Bool {
            CopyBinary.appendNull(to: &out)
            return true
        }

        /// Whether any sum left the exact range.
        var overflowed: Bool { sums.contains { $0.overflowed } }
    }
}
