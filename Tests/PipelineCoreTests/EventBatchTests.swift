import EventContract
import PipelineCore
import Sketches
import Testing

@Suite("EventBatch")
struct EventBatchTests {
    /// Field positions in `EventBatch.eventColumns`.
    enum EventColumn: Int {
        case eventID, eventType, eventTime, userID, payload, topic, partition, offset, timestamp, batchID
    }

    /// Field positions in `EventBatch.rejectColumns`.
    enum RejectColumn: Int {
        case topic, partition, offset, timestamp, key, raw, reason, detail, batchID
    }

    /// `EventBatch.PartitionRange` has no public initializer; compare its fields instead.
    struct Range: Equatable {
        var partition: Int32
        var expectedNextOffset: Int64
        var firstOffset: Int64
        var lastOffset: Int64
        var messages: Int
    }

    func ranges(_ batch: EventBatch) -> [Range] {
        batch.partitionRanges.map {
            Range(
                partition: $0.partition, expectedNextOffset: $0.expectedNextOffset, firstOffset: $0.firstOffset,
                lastOffset: $0.lastOffset, messages: $0.messages)
        }
    }

    func columnNames(_ list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingPrefix(" ").description }
    }

    @Test func columnListsMatchTheRowWidths() throws {
        let batch = BatchFixture.batch()
        let eventNames = columnNames(EventBatch.eventColumns)
        let rejectNames = columnNames(EventBatch.rejectColumns)
        #expect(eventNames.count == 10)
        #expect(rejectNames.count == 9)
        #expect(Set(eventNames).count == eventNames.count)
        #expect(Set(rejectNames).count == rejectNames.count)
        let events = CopyBinaryRows.eventRows(batch.eventRows)
        let rejects = CopyRows.parse(batch.rejectRows)
        #expect(events.count == 4)
        #expect(rejects.count == 4)
        for row in events { #expect(row.count == eventNames.count) }
        for row in rejects { #expect(row.count == rejectNames.count) }
        // The positions the other tests read by.
        #expect(eventNames[EventColumn.eventID.rawValue] == "event_id")
        #expect(eventNames[EventColumn.payload.rawValue] == "payload")
        #expect(eventNames[EventColumn.batchID.rawValue] == "batch_id")
        #expect(rejectNames[RejectColumn.key.rawValue] == "kafka_key")
        #expect(rejectNames[RejectColumn.raw.rawValue] == "raw")
        #expect(rejectNames[RejectColumn.batchID.rawValue] == "batch_id")
    }

    @Test func eventRowsHoldWhatTheEventsSaid() throws {
        let rows = CopyBinaryRows.eventRows(BatchFixture.batch().eventRows)
        try #require(rows.count == 4)
        func field(_ row: Int, _ column: EventColumn) -> String? { rows[row][column.rawValue].text }

        // In arrival order: page_view, click, log, transaction.
        #expect(field(0, .eventID) == "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11")
        #expect(field(1, .eventID) == "0123abcd-ef01-4234-8567-89abcdef0123")
        #expect(field(2, .eventID) == "00000000-0000-0000-0000-000000000003")
        #expect(field(3, .eventID) == "ffffffff-ffff-ffff-ffff-ffffffffffff")

        #expect((0..<4).map { field($0, .eventType) } == ["page_view", "click", "log", "transaction"])

        #expect(field(0, .eventTime) == "2024-05-01 10:15:03.250000+00")
        #expect(field(1, .eventTime) == "2024-04-30 23:30:00.000000+00")
        #expect(field(2, .eventTime) == "2024-05-01 23:59:59.999999+00")
        #expect(field(3, .eventTime) == "2024-04-29 12:00:00.000000+00")

        // JSON escapes decoded; binary COPY escapes nothing.
        #expect(field(0, .userID) == "a\tb\u{e9}\\c")
        #expect(field(1, .userID) == "üser")
        #expect(field(2, .userID) == "u1")
        #expect(field(3, .userID) == "u2")

        // The payload is loaded byte for byte, whitespace and escapes included.
        #expect(rows[0][EventColumn.payload.rawValue] == BatchFixture.pageView)
        #expect(rows[1][EventColumn.payload.rawValue] == BatchFixture.click)
        #expect(rows[2][EventColumn.payload.rawValue] == BatchFixture.log)
        #expect(rows[3][EventColumn.payload.rawValue] == BatchFixture.transaction)

        #expect((0..<4).map { field($0, .topic) } == Array(repeating: "events.v1", count: 4))
        #expect((0..<4).map { field($0, .partition) } == ["0", "2", "0", "3"])
        #expect((0..<4).map { field($0, .offset) } == ["5", "11", "6", "0"])
        #expect(
            (0..<4).map { field($0, .timestamp) } == [
                "2024-05-01 10:15:03.300000+00", "2024-05-01 00:00:00.000000+00", nil,
                "2024-05-01 10:15:03.400000+00",
            ])
        #expect((0..<4).map { field($0, .batchID) } == ["7", "7", "7", "7"])
    }

    /// Every chunk `writeClaimRows` hands out, joined.
    func claimData(_ batch: EventBatch, chunkBytes: Int = 1) -> [UInt8] {
        var data: [UInt8] = []
        batch.writeClaimRows(chunkBytes: chunkBytes) { data += $0 }
        return data
    }

    /// The claim rows as text: uuid, timestamp, topic, partition, offset (the hash after them: `claimHashes`).
    func claimRows(_ batch: EventBatch, chunkBytes: Int = 1) -> [[String?]] {
        CopyBinaryRows.parse(claimData(batch, chunkBytes: chunkBytes)).map { row in
            [
                CopyBinaryRows.uuid(row[0]), CopyBinaryRows.timestamp(row[1]),
                row[2].map { String(decoding: $0, as: UTF8.self) }, CopyBinaryRows.integer(row[3]),
                CopyBinaryRows.integer(row[4]),
            ]
        }
    }

    @Test func claimRowsAreTheEventsIDsSortedAsPostgreSQLSortsUUIDs() throws {
        var batch = BatchFixture.batch()
        let names = columnNames(EventBatch.claimColumns)
        #expect(
            names == [
                "event_id", "event_time", "kafka_topic", "kafka_partition", "kafka_offset", "payload_hash", "batch_id",
            ])
        #expect(CopyBinaryRows.parse(claimData(batch)).allSatisfy { $0.count == names.count })
        let rows = claimRows(batch)
        // uuid order is byte order: 0000… < 0123… < 7b0c… < ffff…, whatever the arrival order.
        #expect(
            rows == [
                ["00000000-0000-0000-0000-000000000003", "2024-05-01 23:59:59.999999+00", "events.v1", "0", "6"],
                ["0123abcd-ef01-4234-8567-89abcdef0123", "2024-04-30 23:30:00.000000+00", "events.v1", "2", "11"],
                ["7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11", "2024-05-01 10:15:03.250000+00", "events.v1", "0", "5"],
                ["ffffffff-ffff-ffff-ffff-ffffffffffff", "2024-04-29 12:00:00.000000+00", "events.v1", "3", "0"],
            ])
        // Each claim carries its payload's hash: the first 64 bits of MurmurHash3_x64_128 over its bytes.
        let hashes = CopyBinaryRows.parse(claimData(batch)).map { CopyBinaryRows.integer($0[5]) }
        let payloads = [BatchFixture.log, BatchFixture.click, BatchFixture.pageView, BatchFixture.transaction]
        #expect(
            hashes
                == payloads.map { payload in
                    payload.withUnsafeBytes { String(Int64(bitPattern: MurmurHash3.hash64($0))) }
                })
        // Each claim names its batch (the fixture's 7): a copy's verdict reads the claimer's row there.
        #expect(
            CopyBinaryRows.parse(claimData(batch)).map { CopyBinaryRows.integer($0[6]) }
                == Array(repeating: "7", count: 4))
        // A copy within the batch is a second row of the same id (the sink's COPY then fails on
        // the primary key, and the sink looks for the copies), ordered by partition and offset.
        batch.add(TestMessage(partition: 1, offset: 9, timestampMs: nil, payload: BatchFixture.log))
        let ids = claimRows(batch).map { $0[0] ?? "" }
        #expect(ids.filter { $0 == "00000000-0000-0000-0000-000000000003" }.count == 2)
        #expect(ids == ids.sorted())
        #expect(claimData(batch, chunkBytes: 1 << 20) == claimData(batch), "one chunk or one per row: the same data")
        batch.reset(batchID: 8, startedAtMicros: testNowMicros)
        #expect(claimData(batch).isEmpty, "no events, no rows to COPY")
    }

    @Test func copiesWithinTheBatchAreLaterRecordsOfAnIDAndAreLeftOutOfClaimsRowsAndMarks() throws {
        var batch = BatchFixture.batch()
        let marksWithoutCopies = batch.minuteMarks()
        // The log event (position 2: partition 0, offset 6) again at positions 4 (partition 1) and
        // 5 (partition 0, offset 9): in claim order (id, partition, offset) position 2 comes first.
        batch.add(TestMessage(partition: 1, offset: 9, timestampMs: nil, payload: BatchFixture.log))
        batch.add(TestMessage(partition: 0, offset: 9, timestampMs: nil, payload: BatchFixture.log))
        let copies = batch.copiesWithinBatch
        #expect(copies == [4, 5])

        var claims: [UInt8] = []
        batch.writeClaimRows(excluding: copies, chunkBytes: 1) { claims += $0 }
        let claimed = CopyBinaryRows.parse(claims).map { [CopyBinaryRows.uuid($0[0]), CopyBinaryRows.integer($0[4])] }
        #expect(claimed.map { $0[0] } == claimRows(BatchFixture.batch()).map { $0[0] }, "each id once")
        #expect(claimed[0] == ["00000000-0000-0000-0000-000000000003", "6"], "the first record claims")

        var ids: [UInt8] = []
        batch.writeIDRows(excluding: copies, chunkBytes: 1) { ids += $0 }
        let positions = CopyBinaryRows.parse(ids).map { CopyBinaryRows.integer($0[1]) }
        #expect(positions == ["2", "1", "0", "3"], "the positions of the events in id order")

        var copyRows: [UInt8] = []
        batch.writeEventRows(chunkBytes: 1 << 20, { copyRows += $0 }) { position, _ in copies.contains(position) }
        let rows = CopyBinaryRows.eventRows(copyRows)
        #expect(rows.map { $0[EventColumn.partition.rawValue].text } == ["1", "0"])
        #expect(rows.map { $0[EventColumn.offset.rawValue].text } == ["9", "9"])

        #expect(batch.minuteMarks(excluding: copies) == marksWithoutCopies, "copies are not staged, nor marked")
        var day: [UInt8] = []
        batch.writeEventRows(ofDay: batch.days[0], excluding: copies, chunkBytes: 64) { day += $0 }
        var dayOfOriginal: [UInt8] = []
        BatchFixture.batch().writeEventRows(ofDay: batch.days[0], chunkBytes: 64) { dayOfOriginal += $0 }
        #expect(day == dayOfOriginal)
    }

    @Test func eachEventsRowRangeIsThatRowAlone() throws {
        let batch = BatchFixture.batch()
        let ranges = batch.eventRowRanges
        #expect(ranges.count == batch.events)
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == batch.eventRows.count)
        let whole = CopyBinaryRows.eventRows(batch.eventRows)
        for (index, range) in ranges.enumerated() {
            #expect(CopyBinaryRows.eventRows(Array(batch.eventRows[range])) == [whole[index]])
        }
    }

    @Test func aRefusedEventBecomesARejectRowWithItsBytes() throws {
        var batch = BatchFixture.batch()
        // A Kafka timestamp before 2000 is negative in PostgreSQL's binary timestamptz.
        batch.add(TestMessage(partition: 1, offset: 3, timestampMs: 1_234, payload: BatchFixture.click))
        let events = CopyBinaryRows.eventRows(batch.eventRows)
        for index in events.indices {
            let rows = CopyRows.parse(batch.rejectedRow(ofEvent: index, detail: "PostgreSQL said\tno"))
            try #require(rows.count == 1)
            let row = rows[0]
            #expect(row[RejectColumn.topic.rawValue] == events[index][EventColumn.topic.rawValue])
            #expect(row[RejectColumn.partition.rawValue] == events[index][EventColumn.partition.rawValue])
            #expect(row[RejectColumn.offset.rawValue] == events[index][EventColumn.offset.rawValue])
            #expect(row[RejectColumn.timestamp.rawValue] == events[index][EventColumn.timestamp.rawValue])
            #expect(row[RejectColumn.key.rawValue] == nil)
            #expect(
                row[RejectColumn.raw.rawValue].flatMap { CopyRows.bytea($0) }
                    == events[index][EventColumn.payload.rawValue])
            #expect(row[RejectColumn.reason.rawValue].text == EventBatch.databaseRejectedReason)
            #expect(row[RejectColumn.detail.rawValue].text == "PostgreSQL said\tno")
            #expect(row[RejectColumn.batchID.rawValue].text == "7")
        }
        #expect(CopyRows.parse(batch.rejectedRow(ofEvent: 4, detail: ""))[0][3].text == "1970-01-01 00:00:01.234000+00")
    }

    @Test func rejectRowsKeepTheMessageAndTheReason() throws {
        let rows = CopyRows.parse(BatchFixture.batch().rejectRows)
        try #require(rows.count == 4)
        func field(_ row: Int, _ column: RejectColumn) -> String? { rows[row][column.rawValue].text }
        func bytes(_ row: Int, _ column: RejectColumn) -> [UInt8]? {
            rows[row][column.rawValue].flatMap { CopyRows.bytea($0) }
        }

        // In arrival order: bad UTF-8, tombstone, missing event_id, empty value.
        #expect((0..<4).map { field($0, .topic) } == Array(repeating: "events.v1", count: 4))
        #expect((0..<4).map { field($0, .partition) } == ["2", "2", "0", "3"])
        #expect((0..<4).map { field($0, .offset) } == ["10", "12", "7", "1"])
        #expect(
            (0..<4).map { field($0, .timestamp) } == [
                nil, "2024-05-01 10:15:03.100000+00", "2024-05-01 10:15:03.000000+00", nil,
            ])

        #expect(field(0, .key) == #"\x00ab0a5c"#)
        #expect(bytes(0, .key) == [0x00, 0xAB, 0x0A, 0x5C])
        #expect(field(1, .key) == nil)
        #expect(field(2, .key) == #"\x"#, "an empty key is an empty bytea, not NULL")
        #expect(field(3, .key) == nil)

        #expect(field(0, .raw) == #"\x7b0a09ff5c"#)
        #expect(bytes(0, .raw) == BatchFixture.badUTF8)
        #expect(field(1, .raw) == nil, "a tombstone has no value")
        #expect(bytes(2, .raw) == BatchFixture.missingID)
        #expect(field(3, .raw) == #"\x"#, "an empty value is an empty bytea, not NULL")

        #expect((0..<4).map { field($0, .reason) } == ["invalid_utf8", "empty", "missing_field", "empty"])
        let payloads = [BatchFixture.badUTF8, nil, BatchFixture.missingID, []]
        for (row, payload) in payloads.enumerated() {
            let expected = try #require(rejection(of: payload))
            #expect(field(row, .reason) == expected.reason)
            #expect(field(row, .detail) == expected.detail)
            #expect(field(row, .detail)?.isEmpty == false)
        }
        #expect((0..<4).map { field($0, .batchID) } == ["7", "7", "7", "7"])
    }

    @Test func countsAndKafkaTimestamps() {
        let batch = BatchFixture.batch()
        #expect(batch.topic == "events.v1")
        #expect(batch.batchID == 7)
        #expect(batch.startedAtMicros == testNowMicros)
        #expect(batch.events == 4)
        #expect(batch.rejected == 4)
        #expect(batch.messages == 8)
        #expect(!batch.isEmpty)
        let valueBytes = BatchFixture.messages.reduce(0) { $0 + ($1.payload?.count ?? 0) }
        #expect(batch.bytes == valueBytes)
        #expect(
            batch.bytes
                == BatchFixture.pageView.count + BatchFixture.click.count + BatchFixture.log.count
                + BatchFixture.transaction.count + BatchFixture.badUTF8.count + BatchFixture.missingID.count)
        #expect(batch.minKafkaTimestampMs == 1_714_521_600_000)
        #expect(batch.maxKafkaTimestampMs == 1_714_558_503_400)
    }

    @Test func partitionRangesStartAtEachPartitionsFirstMessage() {
        let batch = BatchFixture.batch()
        #expect(
            ranges(batch) == [
                Range(partition: 0, expectedNextOffset: 5, firstOffset: 5, lastOffset: 7, messages: 3),
                Range(partition: 2, expectedNextOffset: 10, firstOffset: 10, lastOffset: 12, messages: 3),
                Range(partition: 3, expectedNextOffset: 0, firstOffset: 0, lastOffset: 1, messages: 2),
            ])
    }

    @Test func daysAreTheDistinctUTCDaysOfAcceptedEvents() {
        let batch = BatchFixture.batch()
        // 2024-05-01 is day 19844; the click at 00:30+01:00 falls on 2024-04-30 (19843);
        // the transaction is 2024-04-29 (19842). Rejections contribute no day.
        #expect(batch.days.count == Set(batch.days).count)
        #expect(batch.days.sorted() == [19842, 19843, 19844])
        #expect(EventTime.dayNumber(micros: 0) == 0)
        #expect(EventTime.dayNumber(micros: 1_714_521_600_000_000) == 19844)
    }

    @Test func resetEmptiesTheBatchForTheNextOne() throws {
        var batch = BatchFixture.batch()
        _ = batch.latencySummary(commitMicros: testNowMicros)
        batch.reset(batchID: 8, startedAtMicros: 123)

        #expect(batch.batchID == 8)
        #expect(batch.startedAtMicros == 123)
        #expect(batch.isEmpty)
        #expect(batch.eventRows.isEmpty)
        #expect(batch.rejectRows.isEmpty)
        #expect(batch.events == 0)
        #expect(batch.rejected == 0)
        #expect(batch.messages == 0)
        #expect(batch.bytes == 0)
        #expect(batch.days.isEmpty)
        #expect(batch.partitionRanges.isEmpty)
        #expect(batch.minKafkaTimestampMs == nil)
        #expect(batch.maxKafkaTimestampMs == nil)
        #expect(batch.latencySummary(commitMicros: testNowMicros) == nil)

        // Partition 2 was in the last batch; its new first message sets the range afresh.
        batch.add(
            TestMessage(
                partition: 2, offset: 13, timestampMs: 1_714_600_000_000, key: nil, payload: BatchFixture.log,
                expectedNextOffset: 13))
        batch.add(
            TestMessage(
                partition: 2, offset: 14, timestampMs: 1_714_500_000_000, key: [1], payload: BatchFixture.missingID,
                expectedNextOffset: 77))

        #expect(batch.events == 1)
        #expect(batch.rejected == 1)
        #expect(batch.bytes == BatchFixture.log.count + BatchFixture.missingID.count)
        #expect(batch.days == [19844])
        #expect(
            ranges(batch) == [
                Range(partition: 2, expectedNextOffset: 13, firstOffset: 13, lastOffset: 14, messages: 2)
            ])
        #expect(batch.minKafkaTimestampMs == 1_714_500_000_000)
        #expect(batch.maxKafkaTimestampMs == 1_714_600_000_000)

        let events = CopyBinaryRows.eventRows(batch.eventRows)
        let rejects = CopyRows.parse(batch.rejectRows)
        try #require(events.count == 1 && rejects.count == 1)
        #expect(events[0][EventColumn.eventID.rawValue].text == "00000000-0000-0000-0000-000000000003")
        #expect(events[0][EventColumn.offset.rawValue].text == "13")
        #expect(events[0][EventColumn.batchID.rawValue].text == "8")
        #expect(rejects[0][RejectColumn.offset.rawValue].text == "14")
        #expect(rejects[0][RejectColumn.key.rawValue].text == #"\x01"#)
        #expect(rejects[0][RejectColumn.batchID.rawValue].text == "8")
    }

    @Test func aNewBatchIsEmpty() {
        var batch = EventBatch(topic: "t")
        #expect(batch.isEmpty)
        #expect(batch.messages == 0)
        #expect(batch.partitionRanges.isEmpty)
        #expect(batch.days.isEmpty)
        #expect(batch.eventRows.isEmpty && batch.rejectRows.isEmpty)
        #expect(batch.latencySummary(commitMicros: testNowMicros) == nil)
    }

    @Test func limitsComeFromTheValidator() throws {
        var batch = EventBatch(topic: "t")
        batch.reset(batchID: 1, startedAtMicros: 0)
        let tight = EventValidator(limits: ContractLimits(maxMessageBytes: 16))
        batch.add(
            TestMessage(partition: 0, offset: 0, timestampMs: nil, key: nil, payload: BatchFixture.click),
            validator: tight)
        let rows = CopyRows.parse(batch.rejectRows)
        try #require(rows.count == 1)
        #expect(rows[0][RejectColumn.reason.rawValue].text == "too_large")
        #expect(rows[0][RejectColumn.raw.rawValue].flatMap { CopyRows.bytea($0) } == BatchFixture.click)
        #expect(batch.bytes == BatchFixture.click.count)
        #expect(batch.days.isEmpty)
    }
}
