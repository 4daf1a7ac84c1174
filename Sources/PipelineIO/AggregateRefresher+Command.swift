import LibPQ

/// What `pipeline refresh` asks of the database, on a connection of its own.
extension AggregateRefresher {
    /// One refresh that waits for any other to finish (rather than returning 0 at once), then the
    /// rebuilds migrations requested (etl.rebuild_requests), one committed chunk per transaction,
    /// so none runs for hours and an interruption loses at most one chunk.
    /// Returns the 1-minute buckets the first refresh touched and the chunks rebuilt after it.
    public static func refreshAll(databaseURL: String) throws -> (buckets: Int64, rebuiltChunks: Int) {
        let connection = try PQConnection(databaseURL)
        let refresh = "SELECT etl.refresh_aggregates(p_wait => true)"
        let buckets = try connection.execute(refresh).int64(0, 0) ?? 0
        var chunks = 0
        while (try connection.execute("SELECT count(*) FROM etl.rebuild_requests").int64(0, 0) ?? 0) > 0 {
            try connection.execute(refresh)
            chunks += 1
        }
        return (buckets, chunks)
    }

    /// Recomputes every aggregate for `[from, to)` (timestamptz text) from staging.events;
    /// returns the buckets rebuilt.
    public static func rebuild(databaseURL: String, from: String, to: String) throws -> Int64 {
        try PQConnection(databaseURL).execute(
            "SELECT etl.rebuild_aggregates($1::timestamptz, $2::timestamptz)", [from, to]
        ).int64(0, 0) ?? 0
    }
}
