import EventContract

/// A batch's events chained into sessions per user within the batch, as
/// `etl.merge_user_sessions` chains pieces: sorted by time, an event 30 minutes or more after
/// the previous one starts a new piece. Chaining is associative, so the refresh chaining these
/// pieces with the stored sessions gives what chaining the events one by one gives. The worker
/// COPYs them into `etl.batch_session_pieces` with the batch.
public enum SessionPieces {
    public static let columns = "batch_id, user_id, first_at, last_at, events, pages, revenue"
    static let gapMicros: Int64 = 30 * 60 * 1_000_000

    /// Writes binary COPY rows (`FORMAT binary`: PostgreSQL parses no timestamp or numeric
    /// text, CopyBinary; the sink sends the format's header and trailer), one per piece, in
    /// chunks of about `chunkBytes`, leaving out the events at the positions
    /// `excluding` names; false when a revenue sum left the exact range (the rows before it may
    /// have been written: the caller abandons the COPY).
    public static func writeRows(
        of inputs: AggregateInputs, batchID: Int64, excluding: Set<Int> = [], chunkBytes: Int,
        _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows -> Bool {
        var out: [UInt8] = []
        out.reserveCapacity(chunkBytes + chunkBytes / 10)
        let events = inputs.events
        let order = events.indices.filter { excluding.isEmpty || !excluding.contains($0) }.sorted {
            (events[$0].user, events[$0].timeMicros) < (events[$1].user, events[$1].timeMicros)
        }
        var start = order.startIndex
        while start < order.endIndex {
            let first = events[order[start]]
            var last = first.timeMicros
            var count: Int64 = 0
            var pages: Int64 = 0
            var revenue = DecimalSum()
            var next = start
            while next < order.endIndex {
                let event = events[order[next]]
                guard event.user == first.user, event.timeMicros - last < gapMicros else { break }
                last = event.timeMicros
                count += 1
                if event.type == .pageView { pages += 1 }
                if let amount = event.amount { revenue.add(amount) }
                next += 1
            }
            guard !revenue.overflowed else { return false }
            CopyBinary.appendFieldCount(7, to: &out)
            CopyBinary.appendInt64(batchID, to: &out)
            inputs.users.withBytes(of: first.user) { CopyBinary.appendText($0, to: &out) }
            CopyBinary.appendTimestamp(micros: first.timeMicros, to: &out)
            CopyBinary.appendTimestamp(micros: last, to: &out)
            CopyBinary.appendInt64(count, to: &out)
            CopyBinary.appendInt64(pages, to: &out)
            CopyBinary.appendNumeric(revenue, to: &out)
            if out.count >= chunkBytes {
                try write(out[...])
                out.removeAll(keepingCapacity: true)
            }
            start = next
        }
        if !out.isEmpty { try write(out[...]) }
        return true
    }
}
