import ArgumentParser
import LibPQ

/// `pipeline refresh`: recompute the aggregates' dirty buckets, or rebuild a time range.
struct RefreshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refresh",
        abstract: "Recompute the windowed aggregates for the time buckets loaded since the last refresh.",
        discussion: """
            The worker does this after every batch; cron does it every minute as a backstop. \
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
        let connection = try PQConnection(database.url())
        if rebuild {
            let buckets =
                try connection.execute(
                    "SELECT etl.rebuild_aggregates($1::timestamptz, $2::timestamptz)", [from, to]
                ).value(0, 0) ?? "0"
            print("rebuilt \(buckets) bucket(s) between \(from!) and \(to!)")
        } else {
            // Waits for a refresh a worker may be running, rather than returning 0 at once.
            let buckets = try connection.execute("SELECT etl.refresh_aggregates(p_wait => true)").value(0, 0) ?? "0"
            print("refreshed \(buckets) bucket(s)")
            try workThroughRebuildRequests(on: connection)
        }
    }

    /// Each refresh takes one chunk of the rebuilds migrations requested
    /// (etl.rebuild_requests); run the rest now, one committed chunk at a time,
    /// so no transaction runs for hours and an interruption loses at most one chunk.
    private func workThroughRebuildRequests(on connection: PQConnection) throws {
        let pending = "SELECT count(*) FROM etl.rebuild_requests"
        var chunks = 0
        while (try connection.execute(pending).int64(0, 0) ?? 0) > 0 {
            _ = try connection.execute("SELECT etl.refresh_aggregates(p_wait => true)")
            chunks += 1
        }
        if chunks > 0 { print("rebuilt \(chunks) more chunk(s) that migrations requested") }
    }
}
