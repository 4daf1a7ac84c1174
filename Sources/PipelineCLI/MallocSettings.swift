#if canImport(Glibc)
    import CGlibcMalloc
    import Glibc
#endif

/// glibc malloc settings for the worker, applied before it starts any thread.
enum MallocSettings {
    /// The worker's threads (the loop, a serial queue per lane, librdkafka's, the metrics
    /// listener's) each get a malloc arena of their own by default, up to 8 per core, and a
    /// batch's buffers freed on one thread stay cached in that thread's arena: peak RSS grows
    /// with the arenas, not with the work. Two arenas keep the lanes off one lock; an arena
    /// limit the user set (`MALLOC_ARENA_MAX`, or `glibc.malloc.arena_max` in `GLIBC_TUNABLES`)
    /// wins: glibc has read it already.
    ///
    /// glibc also raises its mmap threshold each time a block it mmapped is freed, up to 32 MiB,
    /// after which a batch's multi-MiB buffers come from the heap and stay there when freed.
    /// A fixed threshold keeps every buffer over 128 KiB in its own mapping, returned to the
    /// kernel on free.
    ///
    /// Measured in BENCHMARKS.md ("The worker's peak memory"): these pay only because the
    /// batch's strings are interned flat; with an allocation per string, two shared arenas
    /// fragmented and peak RSS doubled in some runs.
    static func applyForWorker() {
        #if canImport(Glibc)
            let tunables = Environment.value("GLIBC_TUNABLES") ?? ""
            if Environment.value("MALLOC_ARENA_MAX") == nil, !tunables.contains("glibc.malloc.arena_max") {
                _ = mallopt(M_ARENA_MAX, 2)
            }
            _ = mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        #endif
    }
}
