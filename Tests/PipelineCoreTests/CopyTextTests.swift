import Testing

@testable import PipelineCore

@Suite("CopyText")
struct CopyTextTests {
    func escaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        CopyText.appendEscaped(bytes, to: &out)
        return out
    }

    func integer(_ value: Int64) -> String {
        var out: [UInt8] = []
        CopyText.appendInteger(value, to: &out)
        return out.text
    }

    func bytea(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { CopyText.appendBytea($0, to: &out) }
        return out.text
    }

    @Test func escapesTheFourSpecialBytes() {
        #expect(escaped(Array("a\\b\tc\nd\re".utf8)).text == #"a\\b\tc\nd\re"#)
        // At the edges and back to back.
        #expect(escaped(Array("\\\\\t\t\n\n\r\r".utf8)).text == #"\\\\\t\t\n\n\r\r"#)
        #expect(escaped(Array("\r\nx\n".utf8)).text == #"\r\nx\n"#)
        #expect(escaped(Array(#"\N"#.utf8)).text == #"\\N"#)
        #expect(escaped([]).isEmpty)
    }

    @Test func passesEveryOtherByteThroughUntouched() {
        let special: Set<UInt8> = [0x5C, 0x09, 0x0A, 0x0D]
        for byte in UInt8.min...UInt8.max where !special.contains(byte) {
            #expect(escaped([byte]) == [byte], "byte \(byte)")
        }
        let multibyte = Array("é€😀 naïve 日本".utf8)
        #expect(escaped(multibyte) == multibyte)
    }

    @Test func roundTripsAllBytesThroughPostgresUnescaping() {
        let all = Array(UInt8.min...UInt8.max) + Array("\\N\\x41\\101 é\r\n".utf8)
        let encoded = escaped(all)
        #expect(!encoded.contains(0x09) && !encoded.contains(0x0A) && !encoded.contains(0x0D))
        #expect(CopyRows.unescape(encoded) == all)
    }

    /// Byte by byte, the obvious way: what the word-at-a-time scan must equal.
    func referenceEscaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for byte in bytes {
            switch byte {
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            default: out.append(byte)
            }
        }
        return out
    }

    @Test func specialBytesAtEveryPositionOfTheEightByteWords() {
        for length in [7, 8, 9, 15, 16, 17, 31, 64] {
            for position in 0..<length {
                for special: UInt8 in [0x5C, 0x0A, 0x09, 0x0D] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = special
                    #expect(escaped(bytes) == referenceEscaped(bytes), "length \(length), position \(position)")
                    // Bytes one off a special one (0x5B, 0x5D, 0x08, 0x0B, ...; 0x09 + 1 is special).
                    bytes[position] = special &+ 1
                    #expect(escaped(bytes) == referenceEscaped(bytes))
                    bytes[position] = special &- 1
                    #expect(escaped(bytes) == referenceEscaped(bytes))
                }
            }
        }
        // High bytes next to special ones (the borrow of the zero-byte test).
        let mixed: [UInt8] = [0x80, 0x5C, 0xFF, 0x0A, 0x01, 0x00, 0x09, 0x0D, 0xDC, 0x8A, 0x89, 0x8D, 0x5C]
        #expect(escaped(mixed) == referenceEscaped(mixed))
    }

    @Test func byteaAcrossItsChunks() {
        for count in [255, 256, 257, 600] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let expected = #"\\x"# + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            #expect(bytea(bytes) == expected, "count \(count)")
        }
    }

    @Test func appendsAfterExistingContent() {
        var out = Array("x\t".utf8)
        CopyText.appendEscaped("a\tb", to: &out)
        CopyText.appendNull(to: &out)
        #expect(out.text == #"x\#ta\tb\N"#)
    }

    @Test func stringAndByteOverloadsAgree() {
        let text = "tab\there\\ newline\n é"
        var fromString: [UInt8] = []
        CopyText.appendEscaped(text, to: &fromString)
        #expect(fromString == escaped(Array(text.utf8)))
    }

    @Test func integers() {
        #expect(integer(0) == "0")
        #expect(integer(9) == "9")
        #expect(integer(10) == "10")
        #expect(integer(-1) == "-1")
        #expect(integer(-10) == "-10")
        #expect(integer(Int64.min) == "-9223372036854775808")
        #expect(integer(Int64.max) == "9223372036854775807")
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            for value in [power - 1, power, power + 1, -power, -(power - 1)] {
                #expect(integer(value) == String(value))
            }
        }
        var unsigned: [UInt8] = []
        CopyText.appendUnsigned(UInt64.max, to: &unsigned)
        #expect(unsigned.text == "18446744073709551615")
    }

    @Test func byteaIsEscapedBackslashXAndLowercaseHex() {
        #expect(bytea([]) == #"\\x"#)
        #expect(bytea([0x00, 0x0F, 0xA0, 0xFF, 0x0A, 0x5C]) == #"\\x000fa0ff0a5c"#)
        let all = Array(UInt8.min...UInt8.max)
        let expectedHex = all.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(bytea(all) == #"\\x"# + expectedHex)
        // What PostgreSQL reads after COPY un-escaping is bytea hex input for the same bytes.
        #expect(CopyRows.bytea(CopyRows.unescape(Array(bytea(all).utf8))) == all)
    }

    @Test func nullIsBackslashN() {
        var out: [UInt8] = []
        CopyText.appendNull(to: &out)
        #expect(out.text == #"\N"#)
    }
}
