import ArgumentParser
import PipelineIO

/// `pipeline refresh`: recompute the aggregates' dirty buckets, or rebuild a time range.
struct RefreshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Recompute the windowed aggregates for the time buckets loaded since the last refresh.",
        discussion: """
            The worker does this after every cycle's batches; cron does it every minute as a backstop. \
            Each refresh also rebuilds one chunk (setting rebuild_chunk, an hour) of the ranges migrations \
            requested (etl.rebuild_requests); this command works through all of them, a chunk per transaction. \
            --rebuild --from T1 --to T2 recomputes every aggregate for that range from staging.events \
            (the backfill after a migration changes an aggregate's definition).
            """)

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Recompute every aggregate for --from..--to from staging, not only dirty buckets.")
    var rebuild = false

    @Option(
        help: ArgumentHelp(
            "Start of the range to rebuild (a PostgreSQL timestamptz, e.g. 2026-11-24T00:00Z).", valueName: "T1"))
    var from: String?

    @Option(help: ArgumentHelp("End of the range to rebuild (exclusive).", valueName: "T2"))
    var to: String?

    func validate() throws {
        if rebuild && (from == nil || to == nil) { throw ValidationError("--rebuild needs --from and --to") }
        if !rebuild && (from != nil || to != nil) { throw ValidationError("--from and --to go with --rebuild") }
    }

    func run() throws {
        _ = try Settings.from.resolveOptional(from)
        _ = try Settings.to.resolveOptional(to)
        let url = try database.url()
        if rebuild, let from, let to {
            let buckets = try AggregateRefresher.rebuild(databaseURL: url, from: from, to: to)
            print("rebuilt \(buckets) bucket(s) between \(from) and \(to)")
        } else {
            let refreshed = try AggregateRefresher.refreshAll(databaseURL: url)
            print("refreshed \(refreshed.buckets) bucket(s)")
            if refreshed.rebuiltChunks > 0 {
                print("rebuilt \(refreshed.rebuiltChunks) more chunk(s) that migrations requested")
            }
        }
    }
}
