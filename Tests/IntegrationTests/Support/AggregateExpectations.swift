import Testing

/// Asserts events_per_minute, revenue_per_minute and user_sessions equal, row
/// for row, the answers computed in Swift from `events`.
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
