import EventGenerator
import EventContract
import Testing

@Suite("EventTime")
struct EventTimeTests {
    func parse(_ text: String) -> Int64? {
        Array(text.utf8).withUnsafeBytes { EventTime.parseRFC3339($0) }
    }

    func postgresText(_ micros: Int64) -> String {
        var output: [UInt8] = []
        EventTime.appendPostgresText(micros: micros, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    @Test func parsesEpochAndKnownInstants() {
        #expect(parse("1970-01-01T00:00:00Z") == 0)
        #expect(parse("2024-05-01T10:15:03.250Z") == 1_714_558_503_250_000)
        #expect(parse("2000-01-01T00:00:00Z") == 946_684_800_000_000)
        #expect(parse("2024-02-29T00:00:00Z") == 1_709_164_800_000_000)
    }

    @Test func appliesOffsets() {
        let utc = parse("2024-05-01T10:15:03Z")
        #expect(parse("2024-05-01T15:45:03+05:30") == utc)
        #expect(parse("2024-05-01T02:15:03-08:00") == utc)
        #expect(parse("2024-05-01T10:15:03+00:00") == utc)
        #expect(parse("2024-05-01T10:15:03-00:00") == utc)
        #expect(parse("2024-05-02T10:14:03+23:59") == utc)
    }

    @Test func acceptsSeparatorsAndLowercase() {
        let utc = parse("2024-05-01T10:15:03Z")
        #expect(parse("2024-05-01t10:15:03z") == utc)
        #expect(parse("2024-05-01 10:15:03Z") == utc)
    }

    @Test func keepsMicrosecondsRoundingHalfUp() {
        let base: Int64 = 1_714_558_503_000_000
        #expect(parse("2024-05-01T10:15:03.1Z") == base + 100_000)
        #expect(parse("2024-05-01T10:15:03.123456Z") == base + 123_456)
        #expect(parse("2024-05-01T10:15:03.1234564Z") == base + 123_456)
        #expect(parse("2024-05-01T10:15:03.1234565Z") == base + 123_457)
        #expect(parse("2024-05-01T10:15:03.123456499999999Z") == base + 123_456)
        #expect(parse("2024-05-01T10:15:03.9999995Z") == base + 1_000_000)
        #expect(parse("2024-05-01T10:15:03.000000000000000000001Z") == base)
    }

    @Test func leapSecondRollsIntoTheNextMinute() {
        #expect(parse("2016-12-31T23:59:60Z") == parse("2017-01-01T00:00:00Z"))
        #expect(parse("2016-12-31T23:59:60.5Z") == parse("2017-01-01T00:00:00.5Z"))
        #expect(parse("2024-05-01T10:15:60+02:00") == parse("2024-05-01T08:16:00Z"))
    }

    @Test(arguments: [
        "", "2024-05-01T10:15:03", "2024-05-01T10:15:03+05", "2024-05-01T10:15:03+0530",
        "2024-05-01T10:15:03.Z",
        "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-32T00:00:00Z",
        "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-02-30T00:00:00Z", "2024-06-31T00:00:00Z",
        "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z", "2024-05-01T10:15:61Z",
        "2024-05-01T10:15:03+24:00",
        "2024-05-01T10:15:03+05:60", "2024-05-01X10:15:03Z", "2024-05-01T10:15:03ZZ",
        "2024-05-01T10:15:03+05:30 ",
        "+2024-05-01T10:15:03Z", "2024-05-01T10:15:03.5", "2024-05-01T1:15:03Z",
        "2024-05-01T10:15:03.-5Z",
    ])
    func refusesMalformed(_ text: String) {
        #expect(parse(text) == nil)
    }

    @Test func calendarOfFourHundredYears() {
        // Walk 2000-01-01 … 2399-12-31 day by day against an independent count,
        // and check the day after each month's last day is refused.
        var expectedDay: Int32 = 10_957  // 2000-01-01
        for year in 2000..<2400 {
            for month in 1...12 {
                let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
                let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
                for day in 1...length {
                    let text = "\(year)-\(pad(month))-\(pad(day))T12:00:00Z"
                    let micros = parse(text)
                    #expect(micros.map { EventTime.dayNumber(micros: $0) } == expectedDay, "\(text)")
                    if let micros {
                        #expect(postgresText(micros) == "\(year)-\(pad(month))-\(pad(day)) 12:00:00.000000+00")
                    }
                    expectedDay += 1
                }
                #expect(parse("\(year)-\(pad(month))-\(pad(length + 1))T12:00:00Z") == nil)
            }
        }
    }

    func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    @Test func postgresTextHasSixFractionDigitsAndUTC() {
        #expect(postgresText(0) == "1970-01-01 00:00:00.000000+00")
        #expect(postgresText(1_714_558_503_250_000) == "2024-05-01 10:15:03.250000+00")
        #expect(postgresText(946_684_800_000_001) == "2000-01-01 00:00:00.000001+00")
        #expect(postgresText(1_709_251_199_999_999) == "2024-02-29 23:59:59.999999+00")
        #expect(postgresText(253_402_300_799_999_999) == "9999-12-31 23:59:59.999999+00")
    }

    @Test func postgresTextRoundTripsThroughTheParser() {
        var micros: Int64 = 946_684_800_000_000
        var generator = SplitMix64(seed: 42)
        for _ in 0..<10_000 {
            micros = 946_684_800_000_000 + Int64(generator.next() % 3_000_000_000_000_000)
            var text = postgresText(micros)
            text.removeLast(3)
            text += "Z"
            #expect(parse(text) == micros, "\(text)")
        }
    }

    @Test func dayNumberFloors() {
        #expect(EventTime.dayNumber(micros: 0) == 0)
        #expect(EventTime.dayNumber(micros: 86_400_000_000 - 1) == 0)
        #expect(EventTime.dayNumber(micros: 86_400_000_000) == 1)
        #expect(EventTime.dayNumber(micros: -1) == -1)
        #expect(EventTime.dayNumber(micros: -86_400_000_000) == -1)
        #expect(EventTime.dayNumber(micros: -86_400_000_001) == -2)
        #expect(EventTime.dayNumber(micros: 1_714_558_503_250_000) == 19844)
        #expect(EventTime.dayNumber(micros: .max) == 106_751_991)
        #expect(EventTime.dayNumber(micros: .min) == -106_751_992)
    }

    @Test func extremeInstantsDoNotTrap() {
        #expect(!postgresText(.max).isEmpty)
        #expect(!postgresText(.min).isEmpty)
    }
}
