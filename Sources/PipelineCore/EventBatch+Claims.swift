import EventContract

/// One accepted event's claim on its `event_id`: the row it writes into `etl.event_ids`, the
/// deduplication state (the first record of an id within the horizon is the event; later ones
/// are copies).
public struct EventIDClaim: Sendable, Equatable {
    public var eventID: UUIDBytes
    public var eventTimeMicros: Int64
    public var partition: Int32
    public var offset: Int64
    /// The first 64 bits of MurmurHash3_x64_128 (seed 0) over the payload's bytes, as received:
    /// a copy whose hash equals its claimer's is a `duplicate` without reading the claimer's row
    /// (`etl.divert_copies`). Equal bytes are equal content; two payloads that differ with equal
    /// hashes (about one pair in 2^64) would be called a duplicate, not a conflict: either way the
    /// copy is kept in `etl.duplicate_events` and the claimer's content stays.
    public var payloadHash: Int64
}

extension EventBatch {
    public static let claimColumns =
        "event_id, event_time, kafka_topic, kafka_partition, kafka_offset, payload_hash, batch_id"
    /// The columns of a copy's row (`writeCopyRows`): an event row's, and the payload's hash.
    public static let copyColumns = eventColumns + ", payload_hash"

    /// The batch's claims as binary COPY rows for `etl.event_ids (claimColumns)` (`FORMAT
    /// binary`: PostgreSQL parses no uuid or timestamp text, CopyBinary; the sink sends the
    /// format's header and trailer), each naming this batch (where `etl.divert_copies` reads a
    /// claimer's row), sorted by event_id (PostgreSQL's uuid order: the two big-endian words),
    /// then partition and offset, handed to `write` in chunks of about `chunkBytes` (nothing at
    /// all for a batch without events): the rows of a whole batch are never held at once (they
    /// would add about 70 bytes per event to the worker's peak memory), and only a permutation
    /// of the claims is sorted, not a copy. The events at the positions in `excluded` (copies,
    /// PostgresEventSink+Copies) claim nothing.
    ///
    /// Why sorted, and why COPY: the sink claims a batch's ids with one COPY before loading its
    /// events, so that the deduplication trigger has nothing to do when no id is taken
    /// (BENCHMARKS.md: the trigger's `INSERT … ON CONFLICT DO NOTHING RETURNING` cost about 10 µs
    /// of PostgreSQL time per event on high-cardinality data). In id order each leaf page of
    /// the random-keyed primary key is visited once per batch, not once per event. A taken id
    /// (a copy, in this batch or before it) fails the COPY with 23505; the sink then rolls it back,
    /// finds the copies and claims the others' ids again.
    public func writeClaimRows(
        excluding excluded: Set<Int> = [], chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows {
        let topic = Array(topic.utf8)
        try writeInClaimOrder(excluding: excluded, chunkBytes: chunkBytes, write) { claim, _, chunk in
            CopyBinary.appendFieldCount(7, to: &chunk)
            CopyBinary.appendUUID(claim.eventID, to: &chunk)
            CopyBinary.appendTimestamp(micros: claim.eventTimeMicros, to: &chunk)
            CopyBinary.appendText(topic, to: &chunk)
            CopyBinary.appendInt32(claim.partition, to: &chunk)
            CopyBinary.appendInt64(claim.offset, to: &chunk)
            CopyBinary.appendInt64(claim.payloadHash, to: &chunk)
            CopyBinary.appendInt64(batchID, to: &chunk)
        }
    }

    /// The rows of the events at the positions in `copies`, in arrival order, for
    /// `pg_temp.etl_copies (copyColumns)`: each event's row with its payload's hash after it,
    /// handed to `write` in chunks of about `chunkBytes`.
    public func writeCopyRows(
        of copies: Set<Int>, chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows {
        var chunk: [UInt8] = []
        var rowStart = 0
        for (position, rowEnd) in eventRowEnds.enumerated() {
            defer { rowStart = rowEnd }
            guard copies.contains(position) else { continue }
            // An event row is its field count (2 bytes), then its fields: the copy's row has one
            // field more.
            let eventFields = CopyBinary.fieldCount(ofTuple: eventRows[rowStart..<rowEnd])
            CopyBinary.appendFieldCount(eventFields + 1, to: &chunk)
            chunk.append(contentsOf: eventRows[(rowStart + 2)..<rowEnd])
            CopyBinary.appendInt64(claims[position].payloadHash, to: &chunk)
            if chunk.count >= chunkBytes {
                try write(chunk[...])
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try write(chunk[...]) }
    }

    /// The ids of the events not in `excluded`, each with its position among the batch's events,
    /// as binary COPY rows for `(event_id uuid, position integer)` in claim order: what the sink
    /// asks `etl.event_ids` about when a claim COPY met a taken id (PostgresEventSink+Copies).
    public func writeIDRows(
        excluding excluded: Set<Int>, chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows {
        try writeInClaimOrder(excluding: excluded, chunkBytes: chunkBytes, write) { claim, position, chunk in
            CopyBinary.appendFieldCount(2, to: &chunk)
            CopyBinary.appendUUID(claim.eventID, to: &chunk)
            CopyBinary.appendInt32(Int32(position), to: &chunk)
        }
    }

    /// The positions of the batch's copies of its own events: every event whose event_id an
    /// earlier event in claim order (the same id at a lower partition, or offset) carries. The
    /// first of an id in that order is its claimer, as with the trigger's `ON CONFLICT DO
    /// NOTHING` over rows inserted in that order.
    public var copiesWithinBatch: Set<Int> {
        var copies: Set<Int> = []
        let order = claimOrder()
        for (previous, position) in zip(order, order.dropFirst())
        where claims[Int(position)].eventID == claims[Int(previous)].eventID {
            copies.insert(Int(position))
        }
        return copies
    }

    /// The claims' positions sorted by event_id (PostgreSQL's uuid order: the two big-endian
    /// words), then partition and offset.
    private func claimOrder() -> [UInt32] {
        var order = Array(0..<UInt32(claims.count))
        claims.withUnsafeBufferPointer { claims in
            order.sort {
                let (a, b) = (claims[Int($0)], claims[Int($1)])
                return (a.eventID.high, a.eventID.low, a.partition, a.offset)
                    < (b.eventID.high, b.eventID.low, b.partition, b.offset)
            }
        }
        return order
    }

    /// Appends a row per claim not in `excluded`, in claim order, handing the rows to `write` in
    /// chunks of about `chunkBytes`.
    private func writeInClaimOrder(
        excluding excluded: Set<Int>, chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void,
        row: (EventIDClaim, Int, inout [UInt8]) -> Void
    ) rethrows {
        let order = claimOrder()
        guard !order.isEmpty else { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkBytes + 256)
        for index in order where excluded.isEmpty || !excluded.contains(Int(index)) {
            row(claims[Int(index)], Int(index), &chunk)
            if chunk.count >= chunkBytes {
                try write(chunk[...])
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try write(chunk[...]) }
    }
}
