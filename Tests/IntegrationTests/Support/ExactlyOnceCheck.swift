import Foundation
import Testing

/// What a user checks after a load: every produced message is in
/// staging.events, etl.rejected_events or (a second record of an event_id)
/// etl.duplicate_events exactly once, and each event_id in staging once.
struct ExactlyOnceCheck {
    let database: TestDatabase
    let topic: String

    /// Every loaded Kafka record, wherever it went.
    static let loadedRecords = """
        SELECT kafka_partition AS p, kafka_offset AS o FROM staging.events
        UNION ALL SELECT kafka_partition, kafka_offset FROM etl.rejected_events
        UNION ALL SELECT kafka_partition, kafka_offset FROM etl.duplicate_events
        """

    /// Asserts every message of `messages` (produced in order, per partition
    /// offsets unknown) is loaded exactly once and nothing else is.
    func verify(_ messages: [EventFactory.Message], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let valid = messages.filter { $0.expectedReason == nil }
        let rejected = messages.filter { $0.expectedReason != nil }
        let distinctIDs = Set(valid.compactMap(\.eventID))
        #expect(
            try database.count("SELECT count(*) FROM staging.events") == distinctIDs.count,
            sourceLocation: sourceLocation)
        #expect(
            try database.count("SELECT count(*) FROM etl.duplicate_events") == valid.count - distinctIDs.count,
            sourceLocation: sourceLocation)
        #expect(
            try database.count("SELECT count(*) FROM etl.rejected_events") == rejected.count,
            sourceLocation: sourceLocation)
        // No (partition, offset) twice across the tables, and offsets cover 0..<count per partition.
        let duplicates = try database.count(
            "SELECT count(*) FROM (SELECT p, o FROM (\(Self.loadedRecords)) AS loaded GROUP BY p, o HAVING count(*) > 1) AS twice"
        )
        #expect(duplicates == 0, "a Kafka record was loaded twice", sourceLocation: sourceLocation)
        let holes = try database.count(
            """
            WITH loaded AS (\(Self.loadedRecords))
            SELECT count(*) FROM (SELECT p, min(o) AS first, max(o) + 1 - count(*) AS missing FROM loaded GROUP BY p) AS x
            WHERE missing <> 0 OR first <> 0
            """)
        let firstHoles =
            holes == 0
            ? ""
            : try database.connect().execute(
                """
                WITH loaded AS (\(Self.loadedRecords)), next AS (SELECT p, o, lead(o) OVER (PARTITION BY p ORDER BY o) AS n FROM loaded)
                SELECT string_agg(format('p%s: %s..%s', p, o + 1, n - 1), ', ') FROM (SELECT * FROM next WHERE n > o + 1 LIMIT 5) AS h
                """
            ).value(0, 0) ?? ""
        #expect(holes == 0, "a partition has offsets missing: \(firstHoles)", sourceLocation: sourceLocation)
        // Every good event_id is present exactly once.
        let present = try database.count(
            "SELECT count(DISTINCT event_id) FROM staging.events WHERE event_id = ANY($1::uuid[])",
            ["{" + distinctIDs.joined(separator: ",") + "}"])
        #expect(present == distinctIDs.count, sourceLocation: sourceLocation)
        // Offsets in etl.offsets point just past the last loaded record.
        let offsetsAgree = try database.count(
            """
            WITH loaded AS (\(Self.loadedRecords))
            SELECT count(*) FROM (SELECT p, max(o) + 1 AS next FROM loaded GROUP BY p) AS l
            JOIN etl.offsets AS o ON o.partition = l.p AND o.topic = $1 AND o.next_offset = l.next
            """, [topic])
        let partitionsLoaded = try database.count("SELECT count(DISTINCT p) FROM (\(Self.loadedRecords)) AS x")
        #expect(
            offsetsAgree == partitionsLoaded, "etl.offsets disagrees with the loaded rows",
            sourceLocation: sourceLocation)
    }
}
