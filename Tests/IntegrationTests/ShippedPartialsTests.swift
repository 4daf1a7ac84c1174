import Foundation
import Testing

/// The worker aggregates each batch itself (0021: etl.batch_partials, etl.batch_session_pieces)
/// and the refresh merges what it shipped. Every aggregate table then holds, byte for byte
/// (sketches included), what rebuilding the range from staging in SQL gives, on events that
/// exercise each field the way `payload ->> 'name'` reads it: escapes, null and absent
/// fields, duplicate keys, amounts with exponents and every scale.
@Suite("partial aggregates shipped by the worker", .serialized)
struct ShippedPartialsTests {
    static let start = AggregateEvent.epochMs(2026, 5, 2, 9)
    static let minute: Int64 = 60_000

    /// Events the stream does not write, each at a minute of its own after the stream's.
    static let unusualStart = start + 120 * minute
    static func unusualEvents() -> [[UInt8]] {
        let bodies = [
            #""event_type":"page_view","user_id":"u\u00e9\"x","session_id":null,"page":"/caf\u00e9","country":null"#,
            #""event_type":"page_view","user_id":"u1","page":"/a","page":"/b","country":"ES""#,
            #""event_type":"page_view","user_id":"u2","session_id":"s\u0031","page":null"#,
            #""event_type":"click","user_id":"u\u00e9\"x","session_id":"s9","element":"add_\u0074o_cart""#,
            #""event_type":"click","user_id":"u3","element":"buy","country":"DE""#,
            #""event_type":"transaction","user_id":"u1","session_id":"s1","amount":1.50e1,"currency":"EUR","order_id":"o1""#,
            #""event_type":"transaction","user_id":"u1","session_id":"s1","amount":0.05,"currency":"EUR","order_id":"o2""#,
            #""event_type":"transaction","user_id":"u2","amount":100,"currency":"USD","order_id":"o3","country":"US""#,
            #""event_type":"transaction","user_id":"u2","amount":7E-2,"currency":"USD","order_id":"o4""#,
            #""event_type":"transaction","user_id":"u4","amount":0.000,"currency":"GBP","order_id":"o5""#,
            #""event_type":"log","user_id":"svc","service":"api","level":"warn","message":"m""#,
            #""event_type":"log","user_id":"svc","service":"a\tb","level":"error","message":"m","country":"FR""#,
        ]
        return bodies.enumerated().map { index, body in
            let time = AggregateEvent.rfc3339(unusualStart + Int64(index) * minute + 7_000)
            let id = String(format: "00000000-0000-4000-8000-%012d", index + 1)
            return Array(#"{"event_id":"\#(id)","event_time":"\#(time)",\#(body)}"#.utf8)
        }
    }

    @Test("every batch aggregated by the worker; the tables equal a rebuild from staging, sketches byte for byte")
    func shippedEqualsRebuilt() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("shipped")
        var stream = AggregateEventStream(seed: 29)
        let events = stream.events(count: 900, fromMs: Self.start, toMs: Self.start + 90 * Self.minute, users: 300)
        let unusual = Self.unusualEvents().map {
            EventFactory.Message(key: nil, value: $0, expectedReason: nil, eventID: nil)
        }
        try kafka.produce(events.map(\.message) + unusual)

        let log = NSTemporaryDirectory() + "shipped-\(database.name).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
                "--available-now", "--no-group", "--max-batch-events", "200",
            ], logFile: log)
        #expect(status == 0, "see \(log)")
        #expect(try database.count("SELECT count(*) FROM staging.events") == events.count + unusual.count)
        #expect(try database.count("SELECT count(*) FROM etl.batches") >= 5)
        #expect(
            try database.count("SELECT count(*) FROM etl.batches WHERE NOT aggregated_by_worker AND events > 0") == 0,
            "every batch aggregated by the worker")
        #expect(try database.count("SELECT count(*) FROM etl.batch_partials") == 0, "merged, then deleted")
        #expect(try database.count("SELECT count(*) FROM etl.batch_session_pieces") == 0)

        let incremental = try snapshot(database)
        #expect(incremental.count == Self.tables.count)
        #expect(incremental.allSatisfy { !$0.isEmpty })
        _ = try database.scalar(
            "SELECT etl.rebuild_aggregates($1, $2)",
            [
                AggregateEvent.rfc3339(Self.start - 60 * Self.minute),
                AggregateEvent.rfc3339(Self.start + 180 * Self.minute),
            ])
        let rebuilt = try snapshot(database)
        for (index, table) in Self.tables.enumerated() {
            let differing = Set(incremental[index]).symmetricDifference(rebuilt[index])
            #expect(
                differing.isEmpty && incremental[index].count == rebuilt[index].count,
                "\(table): \(differing.count) rows differ between shipped and merged and rebuilt from staging, e.g. \(differing.first.map { String($0.prefix(300)) } ?? "")"
            )
        }
        // What the unusual events read as, spot-checked against payload ->> 'name'.
        #expect(
            try database.scalar(
                "SELECT revenue::text FROM analytics.revenue_per_minute WHERE bucket = $1 AND currency = 'EUR'",
                [AggregateEvent.rfc3339(Self.unusualStart + 5 * Self.minute)]) == "15.0")
        #expect(
            try database.scalar(
                "SELECT views::text FROM analytics.page_views_per_minute WHERE bucket = $1 AND page = '/b'",
                [AggregateEvent.rfc3339(Self.unusualStart + Self.minute)]) == "1")
    }

    /// A transaction each minute for 200 minutes by one user, amounts of 18 nines and one of
    /// 10^-18: every minute's revenue fits the worker's exact range, the session's does not.
    static func overflowingSessionEvents() -> [[UInt8]] {
        func event(_ index: Int, user: String, atMs ms: Int64, body: String) -> [UInt8] {
            let id = String(format: "00000000-0000-4000-8000-%012d", index + 1)
            return Array(
                #"{"event_id":"\#(id)","event_time":"\#(AggregateEvent.rfc3339(ms))","user_id":"\#(user)",\#(body)}"#
                    .utf8)
        }
        // Users sorting before the big spender: their pieces fill more than a chunk first.
        var events = (0..<5_000).map { index in
            event(
                index, user: String(format: "a%05d", index), atMs: start + Int64(index % 60) * 1_000,
                body: #""event_type":"page_view","page":"/""#)
        }
        for index in 0..<200 {
            let amount = index == 100 ? "0.000000000000000001" : "999999999999999999"
            events.append(
                event(
                    5_000 + index, user: "zz", atMs: start + Int64(index) * minute + 30_000,
                    body: #""event_type":"transaction","amount":\#(amount),"currency":"EUR","order_id":"o\#(index)""#))
        }
        return events
    }

    @Test("a session's revenue past the exact range mid-COPY: the batch is left to the refresh, which sums it in SQL")
    func overflowingSessionRevenue() throws {
        let kafka = try KafkaFixture(partitions: 1)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("overflow")
        let events = Self.overflowingSessionEvents()
        try kafka.produce(events.map { EventFactory.Message(key: nil, value: $0, expectedReason: nil, eventID: nil) })

        let log = NSTemporaryDirectory() + "overflow-\(database.name).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url,
                "--available-now", "--no-group", "--max-batch-events", "10000", "--interval", "5s",
            ], logFile: log)
        #expect(status == 0, "see \(log)")
        #expect(try database.count("SELECT count(*) FROM staging.events") == events.count)
        #expect(try database.count("SELECT count(*) FROM etl.batches") == 1)
        #expect(
            try database.count("SELECT count(*) FROM etl.batches WHERE aggregated_by_worker") == 0,
            "the pieces' COPY abandoned and the partials' rolled back with it")
        #expect(try database.count("SELECT count(*) FROM etl.batch_partials") == 0)
        #expect(try database.count("SELECT count(*) FROM etl.batch_session_pieces") == 0)
        let logText = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(!logText.contains("refused the batch's partial aggregates"), "not a refusal by PostgreSQL")
        #expect(
            try database.scalar("SELECT revenue::text FROM etl.agg_user_sessions WHERE user_id = 'zz'")
                == "198999999999999999801.000000000000000001")
        #expect(try database.count("SELECT count(*) FROM etl.agg_user_sessions") == 5_001)
        #expect(
            try database.scalar("SELECT sum(revenue)::text FROM analytics.revenue_per_minute")
                == "198999999999999999801.000000000000000001")
    }

    static let tables = [
        "etl.agg_events_1m", "etl.agg_events_5m", "etl.agg_events_1h", "etl.agg_revenue_1m", "etl.agg_page_views_1m",
        "etl.agg_logs_1m", "etl.agg_funnel_1h", "etl.agg_user_sessions",
    ]

    /// Each table's rows as text, sorted.
    private func snapshot(_ database: TestDatabase) throws -> [[String]] {
        let connection = try database.connect()
        return try Self.tables.map { table in
            let result = try connection.execute("SELECT t::text FROM \(table) AS t ORDER BY 1")
            return (0..<result.rowCount).map { result.value($0, 0)! }
        }
    }
}
