import Testing

@testable import PipelineCore

@Suite("binary COPY values") struct CopyBinaryTests {
    func numeric(units: Int64, scale: Int) -> [UInt8] {
        var sum = DecimalSum()
        sum.add(DecimalAmount(units: units, scale: scale))
        var out: [UInt8] = []
        CopyBinary.appendNumeric(sum, to: &out)
        return out
    }

    @Test("numeric: length, digit count, weight, sign, display scale, base-10 000 digits")
    func numericLayout() {
        // 2.5: the digits 2 and 5000, the first of weight 0, one decimal shown.
        #expect(numeric(units: 25, scale: 1) == [0, 0, 0, 12, 0, 2, 0, 0, 0, 0, 0, 1, 0, 2, 0x13, 0x88])
        // 0.0001: one digit, 1, of weight -1 (10 000^-1); four decimals shown.
        #expect(numeric(units: 1, scale: 4) == [0, 0, 0, 10, 0, 1, 0xFF, 0xFF, 0, 0, 0, 4, 0, 1])
        // zero: no digits at all, weight 0.
        #expect(numeric(units: 0, scale: 2) == [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2])
    }

    @Test(
        "numeric: what PostgreSQL prints back",
        arguments: [
            (Int64(0), 0, "0"), (25, 1, "2.5"), (1_234_567, 2, "12345.67"), (10_000, 0, "10000"), (1, 4, "0.0001"),
            (1, 20, "0.00000000000000000001"), (999_999_999_999_999_999, 18, "0.999999999999999999"),
            (999_999_999_999_999_999, 0, "999999999999999999"), (120_000, 4, "12.0000"),
        ])
    func numericText(units: Int64, scale: Int, text: String) {
        var out: [UInt8] = []
        CopyBinary.appendNumeric(
            {
                var sum = DecimalSum()
                sum.add(DecimalAmount(units: units, scale: scale))
                return sum
            }(), to: &out)
        #expect(CopyBinaryRows.numeric(Array(out.dropFirst(4))) == text)
    }

    @Test("arrays: as PostgreSQL 15 sends '{1,NULL}'::int8[] and '{7}'::int8[] (COPY … TO STDOUT (FORMAT binary))")
    func arrayLayout() {
        func array(_ values: [Int64?]) -> [UInt8] {
            var out: [UInt8] = []
            CopyBinary.appendArray(elementType: CopyBinary.int8Type, count: values.count, to: &out) {
                guard let value = values[$0] else {
                    CopyBinary.appendNull(to: &$1)
                    return true
                }
                CopyBinary.appendInt64(value, to: &$1)
                return false
            }
            return out
        }
        // length; dimensions, has nulls, element type (int8: 20); length and lower bound; elements
        #expect(
            array([1, nil]) == [
                0, 0, 0, 36, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1,
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF,
            ])
        #expect(
            array([7]) == [
                0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1,
                0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7,
            ])
    }
}
