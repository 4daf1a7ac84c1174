import Foundation
import LibPQ
import PipelineIO
import Testing

/// The 5-minute and hourly rollups and the funnel are kept incrementally
/// (membership state instead of re-reading whole buckets); requested
/// rebuilds are worked through a chunk per refresh. Checked against answers
/// computed in Swift (ExpectedAggregates), not by the same SQL.
@Suite("incremental rollups and requested rebuilds", .serialized)
struct RollupTests {
    static let midnight = AggregateEvent.epochMs(2026, 1, 1)
    static let minute: Int64 = 60_000

    @Test("one late event into a final hour: its users, events and funnel are exact, and only its minute is read")
    func lateEventIntoFinalHour() throws {
        let database = try TestDatabase.migrated("rolluplate")
        let connection = try database.connect()
        var stream = AggregateEventStream(seed: 51)
        let early = stream.events(count: 1500, fromMs: Self.midnight, toMs: Self.midnight + 120 * Self.minute)
        try insert(early, batchID: 1, on: connection)
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        // Two hours later: the first hour is final.
        let live = stream.events(
            count: 300, fromMs: Self.midnight + 180 * Self.minute, toMs: Self.midnight + 190 * Self.minute)
        try insert(live, batchID: 2, on: connection)
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        try expectAggregates(equal: early + live, in: database)
        #expect(try database.scalar("SELECT is_final FROM analytics.events_per_hour ORDER BY bucket LIMIT 1") == "t")

        // A user and a session the first hour has not seen...
        var newcomer = stream.event(timeMs: Self.midnight + 20 * Self.minute + 5_000)
        (newcomer.user, newcomer.session) = ("late-user", "late-session")
        try insert([newcomer], batchID: 3, on: connection)
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 1)
        try expectAggregates(equal: early + live + [newcomer], in: database)

        // ...and one more event of a user, type and session already counted in that hour.
        var again = early.first { $0.timeMs < Self.midnight + 60 * Self.minute }!
        again.id = "0badc0de-0000-4000-a000-000000000001"
        again.timeMs = Self.midnight + 59 * Self.minute
        try insert([again], batchID: 4, on: connection)
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 1)
        try expectAggregates(equal: early + live + [newcomer, again], in: database)
    }

    @Test("a requested rebuild goes a chunk per refresh; pipeline refresh finishes it; equal to the incremental result")
    func requestedRebuild() throws {
        let database = try TestDatabase.migrated("rolluprebuild")
        let connection = try database.connect()
        var stream = AggregateEventStream(seed: 52)
        var events: [AggregateEvent] = []
        for batch in 0..<4 {  // three hours, in order, then late events spread over them
            let slice =
                batch < 3
                ? stream.events(
                    count: 500, fromMs: Self.midnight + Int64(batch) * 60 * Self.minute,
                    toMs: Self.midnight + Int64(batch + 1) * 60 * Self.minute)
                : stream.events(count: 100, fromMs: Self.midnight, toMs: Self.midnight + 180 * Self.minute)
            try insert(slice, batchID: batch + 1, on: connection)
            _ = try database.scalar("SELECT etl.refresh_aggregates()")
            events += slice
        }
        try expectAggregates(equal: events, in: database)
        let incremental = try rollups(in: database)

        // As if a migration changed the rollups' definition: their state is wrong until rebuilt.
        try connection.executeScript(
            """
            UPDATE etl.agg_events_1h SET users_sketch = public.hll_empty(14, 5, -1, 1);
            UPDATE etl.agg_events_5m SET users_sketch = public.hll_empty(14, 5, -1, 1);
            UPDATE etl.agg_funnel_1h SET paid_sketch = sessions_sketch
            """)
        _ = try database.scalar(
            "SELECT etl.request_rebuild($1::timestamptz, $1::timestamptz + interval '150 minutes', 'test')",
            [AggregateEvent.rfc3339(Self.midnight + 10 * Self.minute)])
        // Whole hours, newest first, one hour per refresh.
        #expect(try database.count("SELECT etl.refresh_aggregates()") == 60)
        #expect(
            try database.scalar(
                "SELECT next_to = $1::timestamptz FROM etl.rebuild_requests",
                [AggregateEvent.rfc3339(Self.midnight + 120 * Self.minute)]) == "t")
        #expect(try database.count("SELECT count(*) FROM analytics.events_per_hour WHERE users = 0") == 8)

        let log = NSTemporaryDirectory() + "refresh-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        #expect(try PipelineBinary.run(["refresh", "--database", database.url], logFile: log) == 0)
        #expect(try database.count("SELECT count(*) FROM etl.rebuild_requests") == 0)
        try expectAggregates(equal: events, in: database)
        #expect(try rollups(in: database) == incremental)

        // The whole range at once, in one transaction: the same rows again.
        #expect(
            try database.count(
                "SELECT etl.rebuild_aggregates($1, $2)",
                [AggregateEvent.rfc3339(Self.midnight), AggregateEvent.rfc3339(Self.midnight + 180 * Self.minute)])
                == 180)
        #expect(try rollups(in: database) == incremental)
        try expectAggregates(equal: events, in: database)
    }

    /// The rollup views, as one text value to compare.
    private func rollups(in database: TestDatabase) throws -> String? {
        try database.scalar(
            """
            SELECT concat_ws(' | ',
                (SELECT string_agg(v::text, ';' ORDER BY v::text) FROM analytics.events_per_5_minutes AS v),
                (SELECT string_agg(v::text, ';' ORDER BY v::text) FROM analytics.events_per_hour AS v),
                (SELECT string_agg(v::text, ';' ORDER BY v::text) FROM analytics.session_funnel_per_hour AS v))
            """)
    }
}
