import EventContract
import PipelineCore

/// One Kafka message as plain arrays, handed to the batch as borrowed buffers.
struct TestMessage {
    var partition: Int32
    var offset: Int64
    var timestampMs: Int64?
    var key: [UInt8]?
    var payload: [UInt8]?
    /// What the worker passes along: the partition's loaded position when the batch began.
    var expectedNextOffset: Int64 = 0
}

/// 2025-11-24T16:00:00Z, the ingestion time every test validates against.
let testNowMicros: Int64 = 1_764_000_000_000_000

extension EventBatch {
    mutating func add(_ message: TestMessage, validator: EventValidator = EventValidator()) {
        withBytes(message.key) { key in
            withBytes(message.payload) { payload in
                add(
                    IncomingMessage(
                        partition: message.partition, offset: message.offset, timestampMs: message.timestampMs,
                        key: key, payload: payload),
                    expectedNextOffset: message.expectedNextOffset, validator: validator, nowMicros: testNowMicros)
            }
        }
    }
}

func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}

/// The reason and detail the validator gives for a payload it refuses.
func rejection(of payload: [UInt8]?) -> (reason: String, detail: String)? {
    withBytes(payload) { bytes in
        switch EventValidator().validate(bytes, nowMicros: testNowMicros) {
        case .success: nil
        case .failure(let error): (error.reason.rawValue, error.detail)
        }
    }
}

/// Four events (one of each type) and four rejections across partitions 0, 2 and 3.
enum BatchFixture {
    static let topic = "events.v1"

    /// Raw tabs, CR and newlines as JSON whitespace; escapes in user_id and in other strings.
    static let pageView = Array(
        ("{\n\t\"event_id\" \t: \"7B0C1C3E-3F5D-4C1E-9A57-0F6F2F8E2B11\",\r\n\t"
            + #""event_type":"page_view","event_time":"2024-05-01T15:45:03.250+05:30","user_id":"a\tb\u00e9\\c","#
            + #""page":"C:\\dir\n\"x\"","properties":{"note":"tab\there \\N","nested":[1, 2]}}"# + "\n").utf8)
    /// An escaped event_id and a multi-byte user_id without escapes; 00:30+01:00 is the previous UTC day.
    static let click = Array(
        #"{"event_id":"\u0030123abcd-ef01-4234-8567-89abcdef0123","event_type":"click","event_time":"2024-05-01T00:30:00+01:00","user_id":"üser","element":"btn"}"#
            .utf8)
    static let log = Array(
        #"{"event_id":"00000000-0000-0000-0000-000000000003","event_type":"log","event_time":"2024-05-01T23:59:59.999999Z","user_id":"u1","level":"warn","service":"api","message":"line1\nline2"}"#
            .utf8)
    static let transaction = Array(
        #"{"event_id":"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF","event_type":"transaction","event_time":"2024-04-29T12:00:00Z","user_id":"u2","amount":12.5,"currency":"EUR","order_id":"o-1"}"#
            .utf8)

    static let badUTF8: [UInt8] = [0x7B, 0x0A, 0x09, 0xFF, 0x5C]
    static let missingID = Array(#"{"event_type":"click"}"#.utf8)

    /// In arrival order. Partition 2's later messages pass another expectedNextOffset,
    /// which must not replace the one its first message brought.
    static let messages: [TestMessage] = [
        TestMessage(
            partition: 0, offset: 5, timestampMs: 1_714_558_503_300, key: nil, payload: pageView,
            expectedNextOffset: 5),
        TestMessage(
            partition: 2, offset: 10, timestampMs: nil, key: [0x00, 0xAB, 0x0A, 0x5C], payload: badUTF8,
            expectedNextOffset: 10),
        TestMessage(
            partition: 2, offset: 11, timestampMs: 1_714_521_600_000, key: Array("user-42".utf8),
            payload: click, expectedNextOffset: 99),
        TestMessage(
            partition: 2, offset: 12, timestampMs: 1_714_558_503_100, key: nil, payload: nil,
            expectedNextOffset: 99),
        TestMessage(partition: 0, offset: 6, timestampMs: nil, key: nil, payload: log, expectedNextOffset: 6),
        TestMessage(
            partition: 3, offset: 0, timestampMs: 1_714_558_503_400, key: nil, payload: transaction,
            expectedNextOffset: 0),
        TestMessage(
            partition: 0, offset: 7, timestampMs: 1_714_558_503_000, key: [], payload: missingID,
            expectedNextOffset: 7),
        TestMessage(partition: 3, offset: 1, timestampMs: nil, key: nil, payload: [], expectedNextOffset: 55),
    ]

    static func batch(batchID: Int64 = 7) -> EventBatch {
        var batch = EventBatch(topic: topic, expectedBytes: 4096)
        batch.reset(batchID: batchID, startedAtMicros: testNowMicros)
        for message in messages { batch.add(message) }
        return batch
    }
}
