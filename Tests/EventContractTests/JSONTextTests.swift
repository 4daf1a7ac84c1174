import EventGenerator
import EventContract
import Foundation
import Testing

@Suite("JSONText")
struct JSONTextTests {
    /// Decodes the contents of a JSON string literal written between quotes.
    func decode(_ contents: String) -> [UInt8] {
        let message = Array("\"\(contents)\"".utf8)
        let slice = JSONStringSlice(range: 1..<(message.count - 1), hasEscapes: contents.contains("\\"))
        var output: [UInt8] = []
        message.withUnsafeBytes { JSONText.appendDecoded(slice, of: $0, to: &output) }
        return output
    }

    /// Whether the validator takes `contents` as a user_id: it must count 1…128 scalars.
    func acceptedAsUserID(_ contents: String) -> Bool {
        let message =
            #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b11","event_type":"page_view","event_time":"2024-05-01T10:15:03Z","user_id":"\#(contents)"}"#
        return validate(message).error == nil
    }

    @Test func simpleEscapes() {
        #expect(decode(#"\"\\\/\b\f\n\r\t"#) == [0x22, 0x5C, 0x2F, 0x08, 0x0C, 0x0A, 0x0D, 0x09])
    }

    @Test func unicodeEscapesBecomeUTF8() {
        #expect(decode(#"\u0041"#) == Array("A".utf8))
        #expect(decode(#"\u00e9\u00E9"#) == Array("éé".utf8))
        #expect(decode(#"\u4e2d"#) == Array("中".utf8))
        #expect(decode(#"\u001f"#) == [0x1F])
        #expect(decode(#"\uffff"#) == [0xEF, 0xBF, 0xBF])
    }

    @Test func surrogatePairsJoin() {
        #expect(decode(#"\ud83d\ude00"#) == Array("😀".utf8))
        #expect(decode(#"\uD834\uDD1E"#) == Array("𝄞".utf8))
        #expect(decode(#"\udbff\udfff"#) == [0xF4, 0x8F, 0xBF, 0xBF])
        #expect(decode(#"a\ud800\udc00b"#) == [0x61, 0xF0, 0x90, 0x80, 0x80, 0x62])
    }

    @Test func rawTextPassesThrough() {
        #expect(decode("plain") == Array("plain".utf8))
        #expect(decode("José 😀") == Array("José 😀".utf8))
        #expect(decode("") == [])
    }

    @Test func appendsAfterExistingBytes() {
        let message = Array(#"{"k":"a\nb"}"#.utf8)
        var output: [UInt8] = [0x7C]
        message.withUnsafeBytes {
            JSONText.appendDecoded(JSONStringSlice(range: 6..<10, hasEscapes: true), of: $0, to: &output)
        }
        #expect(output == [0x7C, 0x61, 0x0A, 0x62])
    }

    @Test func agreesWithFoundationOnRandomStrings() throws {
        var generator = SplitMix64(seed: 3)
        let pieces = [
            "a", "Z", " ", "é", "中", "😀", #"\n"#, #"\t"#, #"\""#, #"\\"#, #"\/"#, #"\u00e9"#, #"\u20AC"#,
            #"\ud83d\ude00"#, #"\u0001"#, #"\b"#, #"\f"#, #"\r"#,
        ]
        for _ in 0..<500 {
            var contents = ""
            for _ in 0..<Int(generator.next() % 12) {
                contents += pieces[Int(generator.next() % UInt64(pieces.count))]
            }
            let reference =
                try JSONSerialization.jsonObject(
                    with: Data("\"\(contents)\"".utf8), options: [.fragmentsAllowed]) as? String
            let expected = try #require(reference)
            #expect(decode(contents) == Array(expected.utf8), "\(contents)")
            // Pad to exactly 128 scalars: one more must be refused.
            let padded = contents + String(repeating: "x", count: 128 - expected.unicodeScalars.count)
            #expect(acceptedAsUserID(padded), "\(contents)")
            #expect(!acceptedAsUserID(padded + "y"), "\(contents)")
        }
    }

    @Test func userIDLengthCountsCharactersNotBytes() {
        #expect(!acceptedAsUserID(""))
        #expect(acceptedAsUserID(String(repeating: "😀", count: 128)))
        #expect(!acceptedAsUserID(String(repeating: "😀", count: 129)))
        #expect(acceptedAsUserID(String(repeating: #"\u00e9\ud83d\ude00\n"#, count: 42) + "ab"))
        #expect(!acceptedAsUserID(String(repeating: #"\u00e9\ud83d\ude00\n"#, count: 43)))
    }
}
