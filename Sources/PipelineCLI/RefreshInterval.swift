/// --refresh-interval: a duration, or `end` for one refresh before the worker exits.
enum RefreshInterval: Sendable, Equatable {
    case every(milliseconds: Int)
    case atExit

    /// What AggregateRefresher takes: nil = no refresh until the worker finishes.
    var minimumIntervalMs: Int64? {
        switch self {
        case .every(let milliseconds): Int64(milliseconds)
        case .atExit: nil
        }
    }
}

extension ValueParser where Value == RefreshInterval {
    static func refreshInterval() -> ValueParser {
        let duration = ValueParser<Int>.duration(milliseconds: 0...86_400_000)
        return ValueParser(expected: "end, or " + duration.expected) { text throws(ParseFailure) in
            text == "end" ? .atExit : .every(milliseconds: try duration.parse(text))
        }
    }
}
