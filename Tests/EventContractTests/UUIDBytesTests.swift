import EventGenerator
import EventContract
import Testing

@Suite("UUIDBytes")
struct UUIDBytesTests {
    /// Parses through the validator, the only public way in.
    func parse(_ text: String) -> UUIDBytes? {
        let message =
            #"{"event_id":"\#(text)","event_type":"page_view","event_time":"2024-05-01T10:15:03Z","user_id":"u"}"#
        return validate(message).event?.eventID
    }

    func canonical(_ uuid: UUIDBytes) -> String {
        var output: [UInt8] = []
        uuid.appendCanonical(to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    @Test func parsesIntoBigEndianHalves() throws {
        let uuid = try #require(parse("7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11"))
        #expect(uuid.high == 0x7b0c_1c3e_3f5d_4c1e)
        #expect(uuid.low == 0x9a57_0f6f_2f8e_2b11)
    }

    @Test func appendsLowercaseCanonicalText() throws {
        #expect(
            canonical(try #require(parse("7B0C1C3E-3F5D-4C1E-9A57-0F6F2F8E2B11")))
                == "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11")
        #expect(canonical(UUIDBytes(high: 0, low: 0)) == "00000000-0000-0000-0000-000000000000")
        #expect(canonical(UUIDBytes(high: .max, low: .max)) == "ffffffff-ffff-ffff-ffff-ffffffffffff")
        #expect(
            canonical(UUIDBytes(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210))
                == "01234567-89ab-cdef-fedc-ba9876543210")
    }

    @Test func appendsAfterExistingBytes() {
        var output: [UInt8] = Array("id=".utf8)
        UUIDBytes(high: 1, low: 2).appendCanonical(to: &output)
        #expect(String(decoding: output, as: UTF8.self) == "id=00000000-0000-0001-0000-000000000002")
    }

    @Test func roundTripsRandomValues() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<1000 {
            let uuid = UUIDBytes(high: generator.next(), low: generator.next())
            #expect(parse(canonical(uuid)) == uuid)
            #expect(parse(canonical(uuid).uppercased()) == uuid)
        }
    }

    @Test(arguments: [
        "", "7b0c1c3e3f5d4c1e9a570f6f2f8e2b11", "{7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11}",
        "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b1", "7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b111",
        "7b0c1c3g-3f5d-4c1e-9a57-0f6f2f8e2b11",
        "7b0c1c3e_3f5d-4c1e-9a57-0f6f2f8e2b11", "7b0c1c3e-3f5d-4c1e-9a5-70f6f2f8e2b11",
        " 7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b1",
    ])
    func refusesNonCanonical(_ text: String) {
        #expect(parse(text) == nil)
    }
}
