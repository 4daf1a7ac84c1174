import EventContract

extension EventBatch {
    /// The batch's event rows whose event_time falls on `day` (UTC days since the epoch, as in
    /// `days`), in arrival order, but those at the positions in `excluded` (copies,
    /// PostgresEventSink+Copies), handed to `write` in chunks of about `chunkBytes`: what the
    /// sink COPYs into that day's partition of `staging.events`.
    ///
    /// A batch of one day (the usual case) hands out slices of its own buffer, nothing copied.
    /// Rows of a batch spanning days (midnight, late events, a replay) are gathered into one
    /// chunk buffer, reused and sent whole, never row by row; each day's pass looks at every
    /// event's time, not at its row's bytes.
    public func writeEventRows(
        ofDay day: Int32, excluding excluded: Set<Int> = [], chunkBytes: Int,
        _ write: (ArraySlice<UInt8>) throws -> Void
    ) rethrows {
        if days.count == 1, days[0] == day, excluded.isEmpty {
            var start = 0
            while start < eventRows.count {
                let end = min(eventRows.count, start + chunkBytes)
                try write(eventRows[start..<end])
                start = end
            }
            return
        }
        try writeEventRows(chunkBytes: chunkBytes, write) { position, claim in
            !excluded.contains(position) && EventTime.dayNumber(micros: claim.eventTimeMicros) == day
        }
    }

    /// The rows of the events `included` picks (by position among the batch's events, with its
    /// claim), in arrival order, gathered into chunks of about `chunkBytes`: reused and sent
    /// whole, never row by row.
    public func writeEventRows(
        chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void, including included: (Int, EventIDClaim) -> Bool
    ) rethrows {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(eventRows.count, chunkBytes + chunkBytes / 10))
        var rowStart = 0
        for (position, (claim, rowEnd)) in zip(claims, eventRowEnds).enumerated() {
            if included(position, claim) {
                chunk.append(contentsOf: eventRows[rowStart..<rowEnd])
                if chunk.count >= chunkBytes {
                    try write(chunk[...])
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            rowStart = rowEnd
        }
        if !chunk.isEmpty { try write(chunk[...]) }
    }
}
