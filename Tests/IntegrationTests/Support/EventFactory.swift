import EventGenerator
import Foundation

/// Deterministic test events: valid ones of every type and malformed ones of
/// every kind the contract lists, each with the reason the worker must give.
struct EventFactory {
    struct Message {
        var key: [UInt8]?
        /// nil: a tombstone.
        var value: [UInt8]?
        /// nil for a valid event; else the reason code expected in etl.rejected_events.
        var expectedReason: String?
        var eventID: String?
    }

    /// Malformed values by reason; `too_large` assumes a max message size below 5 000 bytes.
    static let malformed: [(reason: String, value: [UInt8]?)] = [
        ("empty", nil),
        ("empty", []),
        ("invalid_utf8", Array(#"{"event_id":"x","user_id":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)),
        ("invalid_json", Array(#"{"event_id": "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11", "#.utf8)),
        ("invalid_json", [0xEF, 0xBB, 0xBF] + Array(validJSON(id: "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11").utf8)),
        (
            "invalid_json",
            Array((validJSON(id: "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11").dropLast() + #","x":"\ud800"}"#).utf8)
        ),
        ("invalid_json", Array((validJSON(id: "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11") + " {}").utf8)),
        ("not_object", Array("[1,2,3]".utf8)),
        (
            "missing_field",
            Array(#"{"event_type":"click","event_time":"2025-01-01T00:00:00Z","user_id":"u","element":"b"}"#.utf8)
        ),
        (
            "wrong_type",
            Array(
                #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"transaction","event_time":"2025-01-01T00:00:00Z","user_id":"u","amount":"12.5","currency":"EUR","order_id":"o"}"#
                    .utf8)
        ),
        (
            "invalid_value",
            Array(
                #"{"event_id":"not-a-uuid","event_type":"click","event_time":"2025-01-01T00:00:00Z","user_id":"u","element":"b"}"#
                    .utf8)
        ),
        (
            "invalid_value",
            Array(
                #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"transaction","event_time":"2025-01-01T00:00:00Z","user_id":"u","amount":-1,"currency":"EUR","order_id":"o"}"#
                    .utf8)
        ),
        (
            "nul_escape",
            Array(
                #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"click","event_time":"2025-01-01T00:00:00Z","user_id":"u\u0000","element":"b"}"#
                    .utf8)
        ),
        ("too_large", Array(("{\"pad\":\"" + String(repeating: "x", count: 5_000) + "\"}").utf8)),
        ("too_deep", Array((String(repeating: "[", count: 70) + String(repeating: "]", count: 70)).utf8).withObject()),
        (
            "time_out_of_range",
            Array(
                #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"click","event_time":"1999-12-31T23:59:59Z","user_id":"u","element":"b"}"#
                    .utf8)
        ),
    ]

    /// All reason codes the contract lists.
    static let allReasons: Set<String> = Set(malformed.map(\.reason))

    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// `count` messages; every `malformedEvery`-th is malformed (cycling through every kind).
    mutating func messages(count: Int, malformedEvery: Int = 0) -> [Message] {
        (0..<count).map { index in
            let user = "user-\(Int.random(in: 0..<500, using: &generator))"
            if malformedEvery > 0 && index % malformedEvery == malformedEvery - 1 {
                let bad = Self.malformed[(index / malformedEvery) % Self.malformed.count]
                return Message(key: Array(user.utf8), value: bad.value, expectedReason: bad.reason)
            }
            let id = randomUUID()
            return Message(
                key: Array(user.utf8), value: Array(Self.event(id: id, user: user, index: index).utf8), eventID: id)
        }
    }

    private mutating func randomUUID() -> String {
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let chars = Array(hex)
        return
            "\(String(chars[0..<8]))-\(String(chars[8..<12]))-4\(String(chars[13..<16]))-a\(String(chars[17..<20]))-\(String(chars[20..<32]))"
    }

    /// A valid event of a type chosen by index, with escapes and unicode in places.
    static func event(id: String, user: String, index: Int) -> String {
        let time =
            "2025-06-\(String(format: "%02d", 1 + index % 28))T\(String(format: "%02d", index % 24)):15:03.25\(index % 10)Z"
        let common = #""event_id":"\#(id)","event_time":"\#(time)","user_id":"\#(user)","session_id":"s\#(index % 97)""#
        switch index % 4 {
        case 0:
            return
                #"{\#(common),"event_type":"page_view","page":"/p/\#(index % 13)","country":"ES","properties":{"tab\tname":"caf\u00e9 ☕","n":[1,2.5e3,{"deep":true}]}}"#
        case 1: return #"{"event_type":"click",\#(common),"element":"button \"buy\"\\now","device":"mobile"}"#
        case 2: return #"{\#(common),"event_type":"log","level":"error","service":"api","message":"line1\nline2"}"#
        default:
            return
                "{\(common),\n \"event_type\":\"transaction\",\"amount\":\(index % 1000).50,\"currency\":\"EUR\",\"order_id\":\"o-\(index)\"}"
        }
    }

    static func validJSON(id: String) -> String { event(id: id, user: "u1", index: 1) }
}

extension Array where Element == UInt8 {
    /// Wraps a nested array value into an event-shaped object.
    fileprivate func withObject() -> [UInt8] { Array("{\"x\":".utf8) + self + Array("}".utf8) }
}
