import LibPQ
import Testing

// Shared by the aggregate suites: load events the way a batch does, and
// compare every analytics view with the answers computed in Swift
// (ExpectedAggregates, AggregateEvents.swift).

/// Inserts events into staging.events the way a batch does (one statement, so the trigger fires once).
func insert(_ events: [AggregateEvent], batchID: Int, on connection: PQConnection) throws {
    let days = Set(events.map { $0.timeMs / 86_400_000 }).map { String($0) }
    try connection.execute(
        "SELECT etl.ensure_event_partitions(ARRAY(SELECT DATE '1970-01-01' + d FROM unnest($1::int[]) AS d))",
        ["{" + days.joined(separator: ",") + "}"])
    let payloads = "[" + events.map(\.json).joined(separator: ",") + "]"
    try connection.execute(
        """
        INSERT INTO staging.events (event_id, event_type, event_time, user_id, payload, kafka_topic,
                                    kafka_partition, kafka_offset, batch_id)
        SELECT (p ->> 'event_id')::uuid, p ->> 'event_type', (p ->> 'event_time')::timestamptz, p ->> 'user_id', p,
               'events', 0, o, $2
        FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(p, o)
        """, [payloads, String(batchID)])
}

/// The 1-minute, 5-minute and hourly events, revenue, the hourly funnel and
/// the session windows equal, row for row, what `events` give in Swift.
func expectAggregates(
    equal events: [AggregateEvent], in database: TestDatabase, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let connection = try database.connect()
    func rows(_ sql: String) throws -> [ExpectedAggregates.Key: ExpectedAggregates.Counts] {
        let result = try connection.execute(sql)
        var found: [ExpectedAggregates.Key: ExpectedAggregates.Counts] = [:]
        for row in 0..<result.rowCount {
            found[.init(bucket: result.int64(row, 0)!, name: result.value(row, 1)!)] = .init(
                count: Int(result.int64(row, 2)!), second: Int(result.int64(row, 3)!))
        }
        return found
    }
    let events1m = try rows(
        "SELECT extract(epoch FROM bucket)::bigint, event_type, events, users FROM analytics.events_per_minute")
    #expect(events1m == ExpectedAggregates.eventsPerMinute(events), sourceLocation: sourceLocation)
    let events5m = try rows(
        "SELECT extract(epoch FROM bucket)::bigint, event_type, events, users FROM analytics.events_per_5_minutes")
    #expect(events5m == ExpectedAggregates.events(per: 300, events), "5 minutes", sourceLocation: sourceLocation)
    let events1h = try rows(
        "SELECT extract(epoch FROM bucket)::bigint, event_type, events, users FROM analytics.events_per_hour")
    #expect(events1h == ExpectedAggregates.events(per: 3600, events), "hour", sourceLocation: sourceLocation)
    let funnel = try rows(
        """
        SELECT extract(epoch FROM f.bucket)::bigint, s.step, s.sessions, 0
        FROM analytics.session_funnel_per_hour AS f
        CROSS JOIN LATERAL (VALUES ('sessions', f.sessions), ('viewed', f.sessions_viewed),
                                   ('clicked', f.sessions_clicked), ('added_to_cart', f.sessions_added_to_cart),
                                   ('paid', f.sessions_paid)) AS s(step, sessions)
        WHERE s.sessions > 0
        """)
    #expect(funnel == ExpectedAggregates.funnelPerHour(events), "funnel", sourceLocation: sourceLocation)
    let revenue1m = try rows(
        "SELECT extract(epoch FROM bucket)::bigint, currency, transactions, (revenue * 100)::bigint FROM analytics.revenue_per_minute"
    )
    #expect(revenue1m == ExpectedAggregates.revenuePerMinute(events), sourceLocation: sourceLocation)
    let sessions = try rows(
        """
        SELECT (extract(epoch FROM session_start) * 1000)::bigint, user_id, events,
               (extract(epoch FROM session_end - interval '30 minutes') * 1000)::bigint
        FROM analytics.user_sessions
        """)
    #expect(sessions == ExpectedAggregates.userSessions(events), sourceLocation: sourceLocation)
}
