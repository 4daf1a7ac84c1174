extension EventBatch {
    /// Reason code for rows that passed the contract but that PostgreSQL refused
    /// (a constraint added later, an encoding surprise): kept, never dropped.
    public static let databaseRejectedReason = "db_rejected"

    /// Byte ranges of the rows in a COPY text buffer. Newlines inside values are
    /// escaped, so every raw newline ends a row.
    public static func rowRanges(_ rows: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        for (index, byte) in rows.enumerated() where byte == CopyText.newline {
            ranges.append(start..<(index + 1))
            start = index + 1
        }
        return ranges
    }

    /// Turns one `staging.events` COPY row into an `etl.rejected_events` row:
    /// the payload becomes the raw bytes again, the Kafka columns and batch id
    /// carry over, the key is unknown here (NULL).
    public static func rejectedRow(fromEventRow row: ArraySlice<UInt8>, detail: String) -> [UInt8] {
        // event_id, event_type, event_time, user_id, payload, topic, partition, offset, kafka_timestamp, batch_id
        let fields = row.dropLast().split(separator: CopyText.tab, omittingEmptySubsequences: false)
        guard fields.count == 10 else { return [] }
        var out: [UInt8] = []
        for field in fields[5...8] {
            out.append(contentsOf: field)
            out.append(CopyText.tab)
        }
        CopyText.appendNull(to: &out)
        out.append(CopyText.tab)
        let raw = CopyText.unescaped(fields[4])
        raw.withUnsafeBytes { CopyText.appendBytea($0, to: &out) }
        out.append(CopyText.tab)
        CopyText.appendEscaped(databaseRejectedReason, to: &out)
        out.append(CopyText.tab)
        CopyText.appendEscaped(detail, to: &out)
        out.append(CopyText.tab)
        out.append(contentsOf: fields[9])
        out.append(CopyText.newline)
        return out
    }
}

extension CopyText {
    /// The inverse of `appendEscaped` for the escapes it writes.
    static func unescaped(_ field: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var escaping = false
        for byte in field {
            if escaping {
                switch byte {
                case UInt8(ascii: "n"): out.append(newline)
                case UInt8(ascii: "t"): out.append(tab)
                case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
                default: out.append(byte)
                }
                escaping = false
            } else if byte == backslash {
                escaping = true
            } else {
                out.append(byte)
            }
        }
        return out
    }
}
