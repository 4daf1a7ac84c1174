import EventGenerator
import Foundation
import Testing

@Suite("hostile input: a mixed corpus loaded end to end by the worker binary")
struct HostileLoadTests {
    @Test(
        "hostile and good messages from kcat: good ones stored byte for byte, bad ones dead-lettered with their reason, nothing stalled"
    )
    func mixedCorpus() throws {
        let kafka = try KafkaFixture(brokers: 3, partitions: 3, topic: "hostile")
        defer { withExtendedLifetime(kafka) {} }
        let database = try TestDatabase.migrated("hostile")
        let log = NSTemporaryDirectory() + "pipeline-hostile-\(database.name).log"

        // The hand-labelled corpus scattered among ordinary events.
        let corpus = HostileCorpus().entries.map { entry -> HostileCorpus.Entry in
            var entry = entry
            if entry.bytes?.isEmpty == true { entry.bytes = nil }  // kcat -Z sends an empty value as NULL
            return entry
        }
        var factory = EventFactory(seed: 71)
        var generator = SplitMix64(seed: 72)
        var messages = factory.messages(count: 1500)
        var placed: [(entry: HostileCorpus.Entry, index: Int)] = []
        for entry in corpus {
            let index = Int.random(in: 0...messages.count, using: &generator)
            messages.insert(
                EventFactory.Message(
                    key: Array("hostile".utf8), value: entry.bytes, expectedReason: entry.reason, eventID: entry.eventID
                ),
                at: index)
            placed.append((entry, index))
        }
        try Kcat.produce(messages, brokers: kafka.brokers, topic: kafka.topic)

        // The binary with its defaults (1 MiB limit), as a user runs it.
        let status = try PipelineBinary.run(
            [
                "worker", "--brokers", kafka.brokers, "--topic", kafka.topic, "--database", database.url, "--no-group",
                "--available-now", "--max-batch-events", "400",
            ], logFile: log)
        #expect(status == 0, "see \(log)")
        try ExactlyOnceCheck(database: database, topic: kafka.topic).verify(
            kafka: kafka, fault: "hostile + good corpus", trials: corpus.count)

        let connection = try database.connect()
        func hex(_ bytes: [UInt8]) -> String { "\\x" + bytes.map { String(format: "%02x", $0) }.joined() }
        for entry in corpus {
            if let reason = entry.reason {
                let found = try connection.execute(
                    "SELECT reason, detail FROM etl.rejected_events WHERE raw IS NOT DISTINCT FROM $1::bytea AND kafka_key = '\\x686f7374696c65'::bytea",
                    [entry.bytes.map(hex)])
                #expect(found.rowCount >= 1, "\(entry.name): not in etl.rejected_events byte for byte")
                #expect(
                    found.value(0, 0) == reason,
                    "\(entry.name): reason \(found.value(0, 0) ?? "none"), expected \(reason)")
                #expect(found.value(0, 1)?.isEmpty == false, "\(entry.name): no detail")
            } else {
                let bytes = try #require(entry.bytes)
                let id = try #require(entry.eventID, "\(entry.name) has no event_id")
                let row = try connection.execute(
                    """
                    SELECT payload::jsonb = convert_from($2::bytea, 'UTF8')::jsonb,
                           convert_to(payload::text, 'UTF8') = $2::bytea,
                           convert_to(user_id, 'UTF8') = $3::bytea
                    FROM staging.events WHERE event_id = $1
                    """, [id, hex(bytes), hex(Array((entry.userID ?? "").utf8))])
                #expect(row.rowCount == 1, "\(entry.name): stored \(row.rowCount) time(s)")
                #expect(
                    row.value(0, 0) == "t" && row.value(0, 1) == "t", "\(entry.name): payload differs from the message")
                #expect(row.value(0, 2) == "t", "\(entry.name): user_id column differs")
            }
        }
        // The ordinary events around them too.
        let ordinary = messages.filter { $0.key.map { String(decoding: $0, as: UTF8.self) } != "hostile" }
        let ids = ordinary.compactMap(\.eventID)
        #expect(
            try database.count(
                "SELECT count(*) FROM staging.events WHERE event_id = ANY($1::uuid[])",
                ["{" + ids.joined(separator: ",") + "}"])
                == ids.count)
    }
}
