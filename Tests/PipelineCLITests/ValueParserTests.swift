import Testing

@testable import PipelineCLI

@Suite("settings: numbers, durations and sizes read strictly, range-checked, never trapping")
struct ValueParserTests {
    func failure<T>(_ parser: ValueParser<T>, _ text: String) -> ConfigurationError.Code? {
        do {
            _ = try parser.parse(text)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("durations: units, fractions, and every hostile form refused with its reason")
    func durations() throws {
        let parser = ValueParser<Int>.duration(milliseconds: 1...3_600_000)
        #expect(try parser.parse("500ms") == 500)
        #expect(try parser.parse("1.5s") == 1500)
        #expect(try parser.parse("2") == 2000)
        #expect(try parser.parse("1h") == 3_600_000)
        for text in ["inf", "nan", "1e309", "1e300s", "0x10", "+1", "1,5s", "s", "1 s", "\u{0661}s"] {
            #expect(failure(parser, text) == .malformed, "\(text)")
        }
        for text in ["0", "0.4ms", "-1s", "61m", "99999999999999999999h", "9999999999999999999999999999999d"] {
            #expect(failure(parser, text) == .outOfRange, "\(text)")
        }
        #expect(failure(parser, "") == .empty)
        #expect(failure(parser, "1\u{0}0") == .controlCharacter)
        #expect(failure(parser, "1\u{1B}[2J") == .controlCharacter)
        #expect(failure(parser, String(repeating: "9", count: 102_400)) == .tooLong)
    }

    @Test("sizes: units multiply with overflow checked")
    func sizes() throws {
        let parser = ValueParser<Int>.byteSize(1024...1 << 30)
        #expect(try parser.parse("64MiB") == 64 << 20)
        #expect(try parser.parse("1GB") == 1_000_000_000)
        #expect(try parser.parse("4000") == 4000)
        for text in ["99999999999GiB", "9223372036854775808", "-1KiB", "2GiB", "1"] {
            #expect(failure(parser, text) == .outOfRange, "\(text)")
        }
        for text in ["GiB", "1.5MiB", "1e3", "inf", "\u{FF11}KiB"] {
            #expect(failure(parser, text) == .malformed, "\(text)")
        }
    }

    @Test("whole numbers at the edges of their type; decimals plain and finite")
    func numbers() throws {
        #expect(try ValueParser<UInt64>.integer(0...UInt64.max).parse("18446744073709551615") == UInt64.max)
        #expect(failure(ValueParser<UInt64>.integer(0...UInt64.max), "18446744073709551616") == .outOfRange)
        #expect(failure(ValueParser<UInt64>.integer(0...UInt64.max), "-1") == .outOfRange)
        #expect(try ValueParser<Int64>.integer(Int64.min...Int64.max).parse("-9223372036854775808") == Int64.min)
        #expect(failure(ValueParser<Int32>.integer(1...10_000), "2147483648") == .outOfRange)
        let ratio = ValueParser<Double>.decimal(0...1, expected: "a share")
        #expect(try ratio.parse("0.25") == 0.25)
        #expect(failure(ratio, "1.01") == .outOfRange)
        for text in ["nan", "inf", "1e-3", ".", "1."] { #expect(failure(ratio, text) == .malformed, "\(text)") }
    }

    @Test("the value is shown escaped and cut; a secret not at all")
    func shownValues() throws {
        #expect(SettingText.shown("1\u{1B}[2J") == "'1\\u{1B}[2J'")
        #expect(SettingText.shown(String(repeating: "9", count: 100)).hasSuffix("…' (100 bytes)"))
        var refused: ConfigurationError?
        do { _ = try Settings.database.parse("host=x password='open", from: "--database") } catch { refused = error }
        #expect(refused?.shownValue == nil)
        #expect(refused.map { !$0.description.contains("open") } == true)
    }
}
