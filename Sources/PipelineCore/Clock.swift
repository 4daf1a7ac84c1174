#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Wall and monotonic time without Foundation, cheap enough to read per poll.
public enum WallClock {
    /// Microseconds since the Unix epoch (UTC).
    public static func nowMicros() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }

    /// Milliseconds on a clock that never jumps, for deadlines.
    public static func monotonicMs() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    public static func sleep(milliseconds: Int) {
        guard milliseconds > 0 else { return }
        usleep(useconds_t(milliseconds) * 1000)
    }
}
