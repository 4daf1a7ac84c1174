import Foundation
import Testing

@Suite("rows PostgreSQL refuses never stall a partition")
struct PoisonRowTests {
    @Test("a CHECK constraint refuses some accepted events: they are dead-lettered as db_rejected, the rest load")
    func bisection() throws {
        let kafka = try KafkaFixture(partitions: 2)
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("poison")
        // A rule the validator knows nothing about: PostgreSQL will refuse user-13's events.
        try database.connect().execute(
            "ALTER TABLE staging.events ADD CONSTRAINT events_no_user_13_check CHECK (user_id <> 'user-13')")
        var factory = EventFactory(seed: 9)
        let messages = factory.messages(count: 3000, malformedEvery: 20)
        try kafka.produce(messages)
        let poisoned = messages.filter {
            $0.expectedReason == nil && $0.key.map { String(decoding: $0, as: UTF8.self) } == "user-13"
        }
        #expect(!poisoned.isEmpty, "the seed must produce some events of user-13")

        let summary = try WorkerRun(kafka: kafka, database: database).run()

        #expect(summary.events + summary.rejected == messages.count)
        let expected = messages.map { message -> EventFactory.Message in
            var message = message
            if message.expectedReason == nil, message.key.map({ String(decoding: $0, as: UTF8.self) }) == "user-13" {
                message.expectedReason = "db_rejected"
                message.eventID = nil
            }
            return message
        }
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(expected)
        #expect(
            try database.count(
                "SELECT count(*) FROM etl.rejected_events WHERE reason = 'db_rejected' AND detail LIKE '%SQLSTATE 23514%events_no_user_13_check%'"
            )
                == poisoned.count)
        // The dead-lettered bytes are the original message.
        let sample = poisoned[0].value!.map { String(format: "%02x", $0) }.joined()
        #expect(
            try database.count("SELECT count(*) FROM etl.rejected_events WHERE raw = ('\\x' || $1)::bytea", [sample])
                == 1)
        #expect(
            try database.count("SELECT sum(events) FROM etl.batches") == messages.count - poisoned.count
                - messages.filter { $0.expectedReason != nil }.count)
        // The worker's own aggregates leave the refused events out, as staging does.
        #expect(try database.count("SELECT count(*) FROM etl.batches WHERE NOT aggregated_by_worker") == 0)
        _ = try database.scalar("SELECT etl.refresh_aggregates()")
        #expect(
            try database.count("SELECT sum(events) FROM analytics.events_per_hour")
                == database.count("SELECT count(*) FROM staging.events"))
        #expect(try database.count("SELECT count(*) FROM analytics.user_sessions WHERE user_id = 'user-13'") == 0)
    }
}
