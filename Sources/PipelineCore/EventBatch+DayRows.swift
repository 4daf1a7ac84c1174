import EventContract

extension EventBatch {
    /// The batch's event rows whose event_time falls on `day` (UTC days since the epoch, as in
    /// `days`), in arrival order, handed to `write` in chunks of about `chunkBytes`: what the
    /// sink COPYs into that day's partition of `staging.events`.
    ///
    /// A batch of one day (the usual case) hands out slices of its own buffer, nothing copied.
    /// Rows of a batch spanning days (midnight, late events, a replay) are gathered into one
    /// chunk buffer, reused and sent whole, never row by row; each day's pass looks at every
    /// event's time, not at its row's bytes.
    public func writeEventRows(ofDay day: Int32, chunkBytes: Int, _ write: (ArraySlice<UInt8>) throws -> Void)
        rethrows
    {
        if days.count == 1, days[0] == day {
            var start = 0
            while start < eventRows.count {
                let end = min(eventRows.count, start + chunkBytes)
                try write(eventRows[start..<end])
                start = end
            }
            return
        }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(min(eventRows.count, chunkBytes + chunkBytes / 10))
        var rowStart = 0
        for (claim, rowEnd) in zip(claims, eventRowEnds) {
            if EventTime.dayNumber(micros: claim.eventTimeMicros) == day {
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
