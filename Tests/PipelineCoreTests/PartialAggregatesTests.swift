import EventContract
import Testing

@testable import PipelineCore

/// What the worker computes of a batch before shipping it: exact amounts as PostgreSQL's
/// numeric reads them, session pieces split where the refresh splits sessions, and a batch it
/// cannot sum exactly left to the refresh. (That the rows equal what SQL computes from staging
/// is IntegrationTests/ShippedPartialsTests.)
@Suite("partial aggregates")
struct PartialAggregatesTests {
    func amount(_ text: String) -> DecimalAmount? {
        Array(text.utf8).withUnsafeBytes { DecimalAmount(json: $0) }
    }

    /// The sum as PostgreSQL prints the numeric the worker sends.
    func text(_ sum: DecimalSum) -> String {
        var out: [UInt8] = []
        CopyBinary.appendNumeric(sum, to: &out)
        return CopyBinaryRows.numeric(Array(out.dropFirst(4))) ?? "NULL"
    }

    @Test("amounts read as numeric reads them: the exponent applied, the scale kept")
    func amounts() {
        // SELECT '<text>'::numeric in PostgreSQL 15.
        let cases: [(String, Int64, Int)] = [
            ("12.50", 1250, 2), ("1.50e1", 150, 1), ("1e2", 100, 0), ("7E-2", 7, 2), ("0.000", 0, 3), ("-0", 0, 0),
            ("0.05", 5, 2), ("15E+0", 15, 0), ("999999999999999999", 999_999_999_999_999_999, 0),
        ]
        for (json, units, scale) in cases {
            #expect(amount(json) == DecimalAmount(units: units, scale: scale), "\(json)")
        }
        for json in ["1234567890123456789", "1e-19", "0.0000000000000000001", "1e18", "1.5e400"] {
            #expect(amount(json) == nil, "\(json): more than 18 digits or decimals, left to PostgreSQL")
        }
    }

    @Test("sums at the largest scale added, as sum(numeric) gives them")
    func sums() {
        var sum = DecimalSum()
        #expect(text(sum) == "0", "coalesce(sum(...), 0) of no amount")
        sum.add(amount("0.05")!)
        sum.add(amount("1.50e1")!)
        #expect(text(sum) == "15.05")
        var zeros = DecimalSum()
        zeros.add(amount("0.000")!)
        #expect(text(zeros) == "0.000")
        var large = DecimalSum()
        for _ in 0..<3 { large.add(amount("999999999999999999")!) }
        large.add(zeros)
        #expect(text(large) == "2999999999999999997.000")
        #expect(!large.overflowed)
    }

    func message(_ offset: Int64, user: String, minute: Int, second: Int = 0, type: String = "log", extra: String = "")
        -> TestMessage
    {
        let time = "2025-11-24T15:\(minute < 10 ? "0" : "")\(minute):\(second < 10 ? "0" : "")\(second).000Z"
        let fields = type == "log" ? #""service":"s","level":"info","message":"m""# : extra
        let json =
            #"{"event_id":"00000000-0000-4000-8000-\#(String(1_000_000_000_000 + offset).suffix(12))","event_type":"\#(type)","event_time":"\#(time)","user_id":"\#(user)",\#(fields)}"#
        return TestMessage(partition: 0, offset: offset, timestampMs: nil, key: nil, payload: Array(json.utf8))
    }

    /// The pieces' binary rows as PostgreSQL would print them.
    func pieces(_ batch: EventBatch) -> [[String]] {
        var out: [UInt8] = []
        #expect(SessionPieces.writeRows(of: batch.aggregateInputs, batchID: 7, chunkBytes: 1 << 16) { out += $0 })
        return CopyBinaryRows.parse(out).map { row in
            [
                CopyBinaryRows.integer(row[0]), row[1].map { String(decoding: $0, as: UTF8.self) },
                CopyBinaryRows.timestamp(row[2]), CopyBinaryRows.timestamp(row[3]), CopyBinaryRows.integer(row[4]),
                CopyBinaryRows.integer(row[5]), CopyBinaryRows.numeric(row[6]),
            ].map { $0 ?? "NULL" }
        }
    }

    @Test("session pieces: per user, split at a gap of 30 minutes or more, in any arrival order")
    func sessionPieces() {
        var batch = EventBatch(topic: "t")
        batch.reset(batchID: 7, startedAtMicros: 0)
        batch.add(message(0, user: "b", minute: 40))
        batch.add(message(1, user: "a", minute: 0))
        batch.add(message(2, user: "a", minute: 30))  // 30 minutes after: a new session
        batch.add(message(3, user: "a", minute: 59, second: 59))  // 29:59 after: the same one
        batch.add(
            message(
                4, user: "b", minute: 41, type: "transaction",
                extra: #""amount":2.5,"currency":"EUR","order_id":"o""#))
        batch.add(message(5, user: "b", minute: 42, type: "page_view", extra: #""page":"/""#))
        #expect(batch.events == 6)
        let rows = pieces(batch)
        #expect(
            rows.map { [$0[1], $0[2], $0[3], $0[4], $0[5], $0[6]] }.sorted { $0.lexicographicallyPrecedes($1) } == [
                ["a", "2025-11-24 15:00:00.000000+00", "2025-11-24 15:00:00.000000+00", "1", "0", "0"],
                ["a", "2025-11-24 15:30:00.000000+00", "2025-11-24 15:59:59.000000+00", "2", "0", "0"],
                ["b", "2025-11-24 15:40:00.000000+00", "2025-11-24 15:42:00.000000+00", "3", "1", "2.5"],
            ])
        #expect(rows.allSatisfy { $0[0] == "7" })
    }

    @Test("an amount with more than 18 digits: the batch is left to the refresh")
    func inexactBatch() {
        var batch = EventBatch(topic: "t")
        batch.reset(batchID: 1, startedAtMicros: 0)
        batch.add(
            message(
                0, user: "a", minute: 1, type: "transaction", extra: #""amount":1.5,"currency":"EUR","order_id":"o""#))
        #expect(batch.aggregateInputs.isExact)
        batch.add(
            message(
                1, user: "a", minute: 2, type: "transaction",
                extra: #""amount":0.1234567890123456789,"currency":"EUR","order_id":"o""#))
        #expect(batch.events == 2, "accepted: PostgreSQL sums it")
        #expect(!batch.aggregateInputs.isExact)
        batch.reset(batchID: 2, startedAtMicros: 0)
        #expect(batch.aggregateInputs.isExact && batch.aggregateInputs.count == 0)
    }
}
