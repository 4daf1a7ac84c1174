import EventContract

/// One accepted event's claim on its `event_id`: the row it writes into `etl.event_ids`, the
/// deduplication state (the first record of an id within the horizon is the event; later ones
/// are copies).
public struct EventIDClaim: Sendable, Equatable {
    public var eventID: UUIDBytes
    public var eventTimeMicros: Int64
    public var partition: Int32
    public var offset: Int64
}

extension EventBatch {
    public static let claimColumns = "event_id, event_time, kafka_topic, kafka_partition, kafka_offset"

    /// The batch's claims as COPY text rows for `etl.event_ids (claimColumns)`, sorted by
    /// event_id (PostgreSQL's uuid order: the two big-endian words), then partition and offset.
    ///
    /// Why sorted, and why COPY: the sink claims a batch's ids with one COPY before loading its
    /// events, so that the deduplication trigger has nothing to do when no id is taken
    /// (BENCHMARKS.md: the trigger's `INSERT … ON CONFLICT DO NOTHING RETURNING` cost about 10 µs
    /// of PostgreSQL time per event on high-cardinality data). In id order each leaf page of
    /// the random-keyed primary key is visited once per batch, not once per event. A taken id
    /// (a copy, in this batch or before it) fails the COPY with 23505; the sink then rolls it back
    /// and lets the trigger sort copies from events as before.
    public func claimRows() -> [UInt8] {
        let sorted = claims.sorted {
            ($0.eventID.high, $0.eventID.low, $0.partition, $0.offset)
                < ($1.eventID.high, $1.eventID.low, $1.partition, $1.offset)
        }
        var rows: [UInt8] = []
        rows.reserveCapacity(sorted.count * (36 + 30 + escapedTopic.count + 24))
        for claim in sorted {
            claim.eventID.appendCanonical(to: &rows)
            rows.append(CopyText.tab)
            EventTime.appendPostgresText(micros: claim.eventTimeMicros, to: &rows)
            rows.append(CopyText.tab)
            rows.append(contentsOf: escapedTopic)
            rows.append(CopyText.tab)
            CopyText.appendInteger(Int64(claim.partition), to: &rows)
            rows.append(CopyText.tab)
            CopyText.appendInteger(claim.offset, to: &rows)
            rows.append(CopyText.newline)
        }
        return rows
    }
}
