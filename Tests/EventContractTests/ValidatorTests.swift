import EventGenerator
import EventContract
import Testing

/// Cases that depend on limits, the clock or size, so they are built here rather than as fixtures.
@Suite("EventValidator")
struct ValidatorTests {
    static let now: Int64 = 1_764_000_000_000_000  // 2025-11-24T16:00:00Z
    static let id = "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11"

    func event(time: String = "2024-05-01T10:15:03.250Z", user: String = "u1842", extra: String = "")
        -> String
    {
        #"{"event_id":"\#(Self.id)","event_type":"page_view","event_time":"\#(time)","user_id":"\#(user)"\#(extra)}"#
    }

    @Test func absentAndEmptyValuesAreEmpty() {
        #expect(EventValidator().validate(nil, nowMicros: Self.now).reason == "empty")
        #expect(validate([UInt8]()).reason == "empty")
        let zeroLength = UnsafeRawBufferPointer(start: nil, count: 0)
        #expect(EventValidator().validate(zeroLength, nowMicros: Self.now).reason == "empty")
    }

    @Test func returnsTheParsedFields() throws {
        let text =
            #"{"user_id":"u\u00e9\n","event_type":"transaction","amount":1,"currency":"EUR","order_id":"o","event_time":"2024-05-01T15:45:03.250+05:30","event_id":"7B0C1C3E-3F5D-4C1E-9A57-0F6F2F8E2B11"}"#
        let message = Array(text.utf8)
        let event = try #require(validate(message, now: Self.now).event)
        #expect(event.eventID == UUIDBytes(high: 0x7b0c_1c3e_3f5d_4c1e, low: 0x9a57_0f6f_2f8e_2b11))
        #expect(event.eventType == .transaction)
        #expect(event.eventTimeMicros == 1_714_558_503_250_000)
        #expect(event.userID == JSONStringSlice(range: 12..<21, hasEscapes: true))
        var user: [UInt8] = []
        message.withUnsafeBytes { JSONText.appendDecoded(event.userID, of: $0, to: &user) }
        #expect(user == Array("ué\n".utf8))
    }

    @Test func lastDuplicateUserIDIsTheOneReturned() throws {
        let message = Array(event(extra: #","user_id":"second""#).utf8)
        let event = try #require(validate(message, now: Self.now).event)
        #expect(Array(message[event.userID.range]) == Array("second".utf8))
        #expect(!event.userID.hasEscapes)
    }

    @Test func eventTypeNames() {
        #expect(EventType.allCases.map(\.name) == ["page_view", "click", "log", "transaction"])
    }

    // MARK: Size

    @Test func sizeLimitIsCheckedBeforeParsing() {
        let validator = EventValidator(limits: ContractLimits(maxMessageBytes: 100))
        #expect(validate([UInt8](repeating: 0xFF, count: 101), validator).reason == "too_large")
        #expect(validate([UInt8](repeating: 0xFF, count: 100), validator).reason == "invalid_utf8")
    }

    @Test func defaultLimitIsOneMebibyte() {
        let base = event(extra: #","properties":{"blob":""}"#)
        let padding = 1_048_576 - base.utf8.count
        let exact = event(
            extra: #","properties":{"blob":"\#(String(repeating: "x", count: padding))"}"#)
        #expect(exact.utf8.count == 1_048_576)
        #expect(validate(exact, now: Self.now).error == nil)
        #expect(validate(exact + " ", now: Self.now).reason == "too_large")
    }

    // MARK: Time window

    @Test func futureBoundIsOneDayAfterIngestionByDefault() {
        // now = 2025-11-24T16:00:00Z
        #expect(validate(event(time: "2025-11-25T16:00:00Z"), now: Self.now).error == nil)
        #expect(
            validate(event(time: "2025-11-25T16:00:00.000001Z"), now: Self.now).reason
                == "time_out_of_range")
        #expect(validate(event(time: "2025-11-25T17:00:00+01:00"), now: Self.now).error == nil)
        #expect(
            validate(event(time: "2030-01-01T00:00:00Z"), now: Self.now).reason == "time_out_of_range")
    }

    @Test func customTimeWindow() {
        let limits = ContractLimits(minEventTimeMicros: 1_700_000_000_000_000, maxFutureMicros: 0)
        let validator = EventValidator(limits: limits)
        #expect(
            validate(event(time: "2023-11-14T22:13:19Z"), validator, now: Self.now).reason
                == "time_out_of_range")
        #expect(validate(event(time: "2023-11-14T22:13:20Z"), validator, now: Self.now).error == nil)
        #expect(validate(event(time: "2025-11-24T16:00:00Z"), validator, now: Self.now).error == nil)
        #expect(
            validate(event(time: "2025-11-24T16:00:00.000001Z"), validator, now: Self.now).reason
                == "time_out_of_range")
    }

    @Test func hugeFutureAllowanceDoesNotOverflow() {
        let validator = EventValidator(limits: ContractLimits(maxFutureMicros: .max))
        #expect(validate(event(time: "9999-12-31T23:59:59Z"), validator, now: Self.now).error == nil)
    }

    // MARK: Depth

    @Test func customDepthLimit() {
        let validator = EventValidator(limits: ContractLimits(maxDepth: 2))
        #expect(validate(event(extra: #","properties":{"a":1}"#), validator).error == nil)
        #expect(validate(event(extra: #","properties":{"a":[]}"#), validator).reason == "too_deep")
        #expect(validate(event(extra: #","a":[[]]"#), validator).reason == "too_deep")
        #expect(
            validate("{}", EventValidator(limits: ContractLimits(maxDepth: 0))).reason == "too_deep")
    }

    @Test func veryDeepNestingDoesNotRecurse() {
        // 400 000 levels with the limit lifted: scanning is iterative, so this cannot overflow the stack.
        let depth = 400_000
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let validator = EventValidator(limits: ContractLimits(maxDepth: .max))
        #expect(validate(text, validator).reason == "not_object")
        #expect(validate(String(text.dropLast()), validator).reason == "invalid_json")
        #expect(validate(text).reason == "too_deep")
    }

    @Test func depthAcrossMixedContainers() {
        // The event object is level 1, so 63 more levels are allowed.
        var inner = "1"
        for level in 0..<63 { inner = level % 2 == 0 ? "[\(inner)]" : #"{"k":\#(inner)}"# }
        #expect(validate(event(extra: #","x":\#(inner)"#), now: Self.now).error == nil)
        #expect(validate(event(extra: #","x":[\#(inner)]"#), now: Self.now).reason == "too_deep")
    }

    // MARK: Error contents

    @Test func errorsNameThePathAndOffset() throws {
        let text = event(extra: #","session_id":7"#)
        let error = try #require(validate(text, now: Self.now).error)
        #expect(error.reason == .wrongType)
        #expect(error.path == "$.session_id")
        #expect(error.byteOffset == text.utf8.count - 2)
        #expect(error.detail.contains("session_id"))

        let missing = try #require(validate(#"{"event_type":"click"}"#).error)
        #expect(missing.reason == .missingField)
        #expect(missing.path == "$.event_id")
        #expect(missing.byteOffset == nil)
    }

    @Test func jsonErrorsCarryTheOffsetAndKnownFieldOnly() throws {
        let text = event(extra: #","properties":{"a":[1,]}"#)
        let error = try #require(validate(text).error)
        #expect(error.reason == .invalidJSON)
        #expect(error.path == "$.properties")
        #expect(error.byteOffset == text.utf8.count - 3)  // the "]" after the trailing comma

        let unknown = try #require(validate(event(extra: #","secret-key":[1,]"#)).error)
        #expect(unknown.path == nil)
        #expect(!unknown.detail.contains("secret"))
    }

    @Test func invalidUTF8AnywhereWinsOverAnEarlierJSONError() throws {
        var bytes = Array("{,".utf8) + Array(event().utf8.dropFirst())
        bytes.insert(0xFF, at: bytes.count - 10)
        let error = try #require(validate(bytes).error)
        #expect(error.reason == .invalidUTF8)
        #expect(error.byteOffset == bytes.count - 11)
    }

    @Test func descriptionIsReasonAndDetail() throws {
        let error = try #require(validate("[]").error)
        #expect(error.description == "not_object: JSON value is not an object [$]")
    }

    // MARK: Robustness

    @Test func everyPrefixOfAValidMessageIsRejectedWithoutCrashing() {
        let message = Array(
            event(user: #"u\u00e9😀\ud83d\ude00"#, extra: #","properties":{"a":[1.5e3,true,null,"x"]}"#)
                .utf8)
        #expect(validate(message, now: Self.now).error == nil)
        for length in 1..<message.count {
            // Copy so the buffer really ends at `length` (sanitizers catch over-reads).
            let prefix = Array(message[0..<length])
            #expect(validate(prefix, now: Self.now).error != nil)
        }
    }

    @Test func randomByteFlipsNeverCrash() {
        var generator = SplitMix64(seed: 11)
        let message = Array(
            event(extra: #","properties":{"a":[1.5e3,true,null,"x\n"]},"amount":-0.5"#).utf8)
        for _ in 0..<20_000 {
            var mutated = message
            for _ in 0...Int(generator.next() % 3) {
                let index = Int(generator.next() % UInt64(mutated.count))
                mutated[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = validate(mutated, now: Self.now)
        }
    }
}
