extension EventBatch {
    /// Reason code for rows that passed the contract but that PostgreSQL refused
    /// (a constraint added later, an encoding surprise): kept, never dropped.
    public static let databaseRejectedReason = "db_rejected"

    /// The byte range of each accepted event's row in `eventRows`, in arrival order.
    public var eventRowRanges: [Range<Int>] {
        zip([0] + eventRowEnds.dropLast(), eventRowEnds).map { $0..<$1 }
    }

    /// The `etl.rejected_events` row (COPY text) of the accepted event at `index` (arrival
    /// order), which PostgreSQL refused: the payload becomes the raw bytes again, the Kafka
    /// columns and batch id carry over, the key is unknown here (NULL).
    public func rejectedRow(ofEvent index: Int, detail: String) -> [UInt8] {
        let row = eventRows[(index == 0 ? 0 : eventRowEnds[index - 1])..<eventRowEnds[index]]
        // event_id, event_type, event_time, user_id, payload, topic, partition, offset, kafka_timestamp, batch_id
        let fields = CopyBinary.fields(ofTuple: row)
        let claim = claims[index]
        // A timestamptz in microseconds since 2000-01-01; the batch wrote whole milliseconds.
        let timestampMs = fields[8].map {
            (Int64(bitPattern: eventRows[$0].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                + CopyBinary.postgresEpochMicros) / 1000
        }
        var out: [UInt8] = []
        eventRows[fields[4]!].withUnsafeBytes { payload in
            Self.appendRejectRow(
                escapedTopic: escapedTopic, partition: claim.partition, offset: claim.offset,
                timestampMs: timestampMs, key: nil, raw: payload, reason: Self.databaseRejectedReason,
                detail: detail, batchID: batchID, to: &out)
        }
        return out
    }
}
