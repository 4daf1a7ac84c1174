import Foundation
import LibPQ
import PipelineIO
import Testing

/// A rollup is one row of etl.aggregates (0020): declared on a database that already holds events,
/// `pipeline migrate` creates its table and view and requests its rebuild; the refreshes fill it
/// from staging and then keep it by batch, equal to an answer computed in Swift, and a rebuild
/// gives the same rows. The README's example: transactions, revenue and buyers per country (and
/// currency: amounts in different currencies do not add) per hour.
@Suite("declared aggregates", .serialized)
struct DeclaredAggregateTests {
    static let midnight = AggregateEvent.epochMs(2026, 3, 1)
    static let minute: Int64 = 60_000

    static let declaration = """
        INSERT INTO etl.aggregates (name, bucket_width, event_types, dimensions, measures, view_name)
        VALUES ('revenue_country_1h', interval '1 hour', '{transaction}', '{country,currency}',
                '[{"column": "transactions", "kind": "count"},
                  {"column": "revenue", "kind": "sum", "of": "amount"},
                  {"column": "buyers_sketch", "kind": "distinct", "of": "user_id"}]',
                'revenue_per_country_per_hour')
        """

    @Test(
        "declared on a loaded database: created by migrate, rebuilt from staging, then kept by batch; a rebuild gives the same rows"
    )
    func declaredAfterLoad() throws {
        let database = try TestDatabase.migrated("declared")
        let connection = try database.connect()
        var stream = AggregateEventStream(seed: 91)
        // The stream's transactions carry no country: give two of three one.
        let events = stream.events(count: 1500, fromMs: Self.midnight, toMs: Self.midnight + 150 * Self.minute)
            .enumerated().map { index, event in
                var event = event
                if event.type == "transaction" { event.country = ["ES", "DE", nil][index % 3] }
                return event
            }
        try insert(Array(events[..<1000]), batchID: 1, on: connection)
        _ = try database.scalar("SELECT etl.refresh_aggregates()")

        try connection.execute(Self.declaration)
        let outcome = try migrator(database).migrate()
        #expect(outcome.createdAggregates == 1)
        #expect(try database.count("SELECT count(*) FROM etl.rebuild_requests") >= 1)
        for _ in 0..<10 where try database.count("SELECT count(*) FROM etl.rebuild_requests") > 0 {
            _ = try database.scalar("SELECT etl.refresh_aggregates()")
        }
        #expect(try declaredRows(in: database) == expected(Array(events[..<1000])))

        try insert(Array(events[1000...]), batchID: 2, on: connection)
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        let incremental = try declaredRows(in: database)
        #expect(incremental.count >= 9, "three countries, three currencies, three hours")
        #expect(incremental == expected(events))
        // The rollups declared before it are unchanged by it.
        try expectAggregates(equal: events, in: database)

        _ = try database.scalar(
            "SELECT etl.rebuild_aggregates($1, $2)",
            [AggregateEvent.rfc3339(Self.midnight), AggregateEvent.rfc3339(Self.midnight + 180 * Self.minute)])
        #expect(try declaredRows(in: database) == incremental)
        try expectAggregates(equal: events, in: database)

        #expect(try migrator(database).migrate().isEmpty, "a second migrate creates nothing")
        // The reader reads the view, like every analytics view.
        #expect(
            try database.count(
                "SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = 'grafana_reader' AND table_name = 'revenue_per_country_per_hour'"
            )
                == 1)
    }

    @Test("a declaration naming what does not exist stops migrate with what is wrong, and creates nothing")
    func wrongDeclaration() throws {
        let database = try TestDatabase.migrated("declaredwrong")
        try database.connect().execute(
            """
            INSERT INTO etl.aggregates (name, bucket_width, dimensions, measures)
            VALUES ('by_planet_1m', interval '1 minute', '{planet}', '[{"column": "events", "kind": "count"}]')
            """)
        #expect {
            try migrator(database).migrate()
        } throws: { error in
            let text = "\(error)"
            return text.contains("aggregate by_planet_1m: unknown dimension planet") && text.contains("etl.aggregates")
        }
        #expect(try database.scalar("SELECT to_regclass('etl.agg_by_planet_1m')") == nil)
        #expect(
            throws: (any Error).self, "the CHECK on bucket widths: whole minutes dividing an hour",
            performing: {
                try database.connect().execute(
                    "INSERT INTO etl.aggregates (name, bucket_width, measures) VALUES ('odd', interval '7 minutes', '[]')"
                )
            })
    }

    private func migrator(_ database: TestDatabase) throws -> Migrator {
        try Migrator(
            connection: database.connect(), migrations: MigrationSource.directory(repositoryMigrationsPath).load())
    }

    /// (hour, country, currency) -> transactions, revenue in cents, distinct buyers.
    private struct Row: Hashable {
        var hour: Int64
        var country: String
        var currency: String
        var transactions: Int
        var revenueCents: Int
        var buyers: Int
    }

    private func declaredRows(in database: TestDatabase) throws -> Set<Row> {
        let result = try database.connect().execute(
            """
            SELECT extract(epoch FROM bucket)::bigint, country, currency, transactions, (revenue * 100)::bigint, buyers
            FROM analytics.revenue_per_country_per_hour
            """)
        return Set(
            (0..<result.rowCount).map { row in
                Row(
                    hour: Int64(result.value(row, 0)!)!, country: result.value(row, 1)!,
                    currency: result.value(row, 2)!, transactions: Int(result.value(row, 3)!)!,
                    revenueCents: Int(result.value(row, 4)!)!, buyers: Int(result.value(row, 5)!)!)
            })
    }

    private func expected(_ events: [AggregateEvent]) -> Set<Row> {
        var groups: [[String]: [AggregateEvent]] = [:]
        for event in events where event.type == "transaction" {
            let hour = event.timeMs / 3_600_000 * 3600
            groups[[String(hour), event.country ?? "(none)", event.currency!], default: []].append(event)
        }
        return Set(
            groups.map { key, members in
                Row(
                    hour: Int64(key[0])!, country: key[1], currency: key[2], transactions: members.count,
                    revenueCents: members.reduce(0) { $0 + $1.amountCents! }, buyers: Set(members.map(\.user)).count)
            })
    }
}
