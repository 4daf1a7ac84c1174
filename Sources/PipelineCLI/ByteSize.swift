import ArgumentParser

/// A size flag: `1048576`, `512KiB`, `64MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
struct ByteSize: ExpressibleByArgument, Sendable {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("B", 1),
        ]
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            guard let value = Int(argument.dropLast(suffix.count)), value >= 0 else { return nil }
            bytes = value * factor
            return
        }
        guard let value = Int(argument), value >= 0 else { return nil }
        bytes = value
    }
}

/// A duration flag: `500ms`, `1s`, `5m`, `2h`; a bare number is seconds.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var milliseconds: Int

    init(milliseconds: Int) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where argument.hasSuffix(suffix) {
            guard let value = Double(argument.dropLast(suffix.count)), value >= 0 else { return nil }
            milliseconds = Int(value * factor)
            return
        }
        guard let value = Double(argument), value >= 0 else { return nil }
        milliseconds = Int(value * 1000)
    }
}

/// --refresh-interval: a duration, or `end` for one refresh before the worker exits.
enum RefreshInterval: ExpressibleByArgument, Sendable {
    case every(DurationArgument)
    case atExit

    init?(argument: String) {
        if argument == "end" {
            self = .atExit
        } else if let duration = DurationArgument(argument: argument) {
            self = .every(duration)
        } else {
            return nil
        }
    }

    /// What AggregateRefresher takes: nil = no refresh until the worker finishes.
    var minimumIntervalMs: Int64? {
        switch self {
        case .every(let duration): Int64(duration.milliseconds)
        case .atExit: nil
        }
    }
}
