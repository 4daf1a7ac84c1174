/// A batch's accepted events in one UTC minute of event time: one row of the summary that
/// `etl.record_batch_marks` records a batch's marks from (the minute marked for the batch, its
/// events counted as late when the minute was already final, its latest event time fed to the
/// watermark). Made only by `minuteMarks`; other modules read it.
public struct MinuteMark: Sendable, Equatable {
    /// The minute's start, microseconds since the Unix epoch (UTC).
    public var minuteMicros: Int64
    public var events: Int
    public var maxEventTimeMicros: Int64
}

extension EventBatch {
    static let microsPerMinute: Int64 = 60_000_000

    /// The batch's accepted events summed per minute of event time, in minute order: what the
    /// marking trigger of `staging.events` would compute from the batch's rows, for a batch the
    /// sink COPYs where no trigger fires. The events at the positions in `excluded` (copies,
    /// PostgresEventSink+Copies) are not staged and not counted.
    public func minuteMarks(excluding excluded: Set<Int> = []) -> [MinuteMark] {
        var marks: [MinuteMark] = []
        var indexByMinute: [Int64: Int] = [:]
        var previous = -1
        for (position, claim) in claims.enumerated() where excluded.isEmpty || !excluded.contains(position) {
            let time = claim.eventTimeMicros
            // Floored: date_trunc puts 1969-12-31 23:59:59.5 in the minute 23:59, not 00:00.
            var minute = time / Self.microsPerMinute
            if time % Self.microsPerMinute < 0 { minute -= 1 }
            minute *= Self.microsPerMinute
            // Event times mostly come in order: the previous event's minute is tried before hashing.
            let index: Int
            if previous >= 0, marks[previous].minuteMicros == minute {
                index = previous
            } else if let found = indexByMinute[minute] {
                index = found
            } else {
                index = marks.count
                indexByMinute[minute] = index
                marks.append(MinuteMark(minuteMicros: minute, events: 0, maxEventTimeMicros: time))
            }
            marks[index].events += 1
            marks[index].maxEventTimeMicros = max(marks[index].maxEventTimeMicros, time)
            previous = index
        }
        return marks.sorted { $0.minuteMicros < $1.minuteMicros }
    }
}
