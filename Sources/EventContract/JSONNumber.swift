/// Limits of PostgreSQL `numeric`, which `jsonb` uses for every JSON number.
enum NumericLimits {
    /// The weight is an int16 count of base-10000 digits: 32767 · 4 + 4 digits.
    static let maxIntegerDigits = 131_072
    /// The display scale is a 14-bit field.
    static let maxScale = 16_383
    /// `numeric_in` refuses exponents from INT_MAX / 2 on, even on zero.
    static let maxExponentMagnitude = 1_073_741_823
}

/// Where a decimal number's digits sit, enough to judge its range without
/// converting it.
struct NumberShape {
    var integerDigits: Int
    var integerIsNonzero: Bool
    var fractionDigits: Int
    /// 1-based position of the first nonzero fraction digit, 0 when none.
    var firstNonzeroFraction: Int
    var exponent: Int

    /// Power of ten of the leading nonzero digit, nil for zero.
    var leadingPower: Int? {
        if integerIsNonzero { return integerDigits - 1 + exponent }
        if firstNonzeroFraction > 0 { return exponent - firstNonzeroFraction }
        return nil
    }

    /// Mirrors `numeric_in`: the scale counts every written fraction digit
    /// (trailing zeros too) minus the exponent, and the weight is that of the
    /// leading nonzero digit. Zero has weight 0 but keeps its scale.
    var fitsPostgresNumeric: Bool {
        guard exponent.magnitude < NumericLimits.maxExponentMagnitude else { return false }
        if fractionDigits - exponent > NumericLimits.maxScale { return false }
        if let power = leadingPower, power >= NumericLimits.maxIntegerDigits { return false }
        return true
    }
}

enum JSONNumber {
    /// Shape and sign of a number the scanner already accepted.
    static func shape(_ bytes: UnsafeRawBufferPointer) -> (shape: NumberShape, negative: Bool) {
        var i = 0
        let negative = bytes[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let intStart = i
        var intNonzero = false
        while i < bytes.count, isDigit(bytes[i]) {
            if bytes[i] != UInt8(ascii: "0") { intNonzero = true }
            i += 1
        }
        let intDigits = i - intStart
        var fracDigits = 0
        var firstNonzeroFraction = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < bytes.count, isDigit(bytes[i]) {
                if firstNonzeroFraction == 0, bytes[i] != UInt8(ascii: "0") {
                    firstNonzeroFraction = i - fracStart + 1
                }
                i += 1
            }
            fracDigits = i - fracStart
        }
        var exponent = 0
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            while i < bytes.count, isDigit(bytes[i]) {
                if exponent < 1 << 40 { exponent = exponent * 10 + Int(bytes[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        let shape = NumberShape(
            integerDigits: intDigits, integerIsNonzero: intNonzero, fractionDigits: fracDigits,
            firstNonzeroFraction: firstNonzeroFraction, exponent: exponent)
        return (shape, negative)
    }

    /// Whether the number is below zero as a decimal (so `-0` is not, and
    /// `-1e-400` is, although it would round to -0.0 as a Double).
    static func isNegative(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (shape, negative) = shape(bytes)
        return negative && shape.leadingPower != nil
    }

    /// Whether strtod would give a finite Double (round to nearest even).
    /// Exact, without converting: only numbers within one decade of
    /// Double.greatestFiniteMagnitude need a digit-by-digit comparison
    /// against the rounding boundary 2^1024 − 2^970, which itself rounds up
    /// to infinity (the tie goes to the even significand).
    static func isFiniteDouble(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (shape, _) = shape(bytes)
        guard let power = shape.leadingPower else { return true }
        if power < 308 { return true }
        if power > 308 { return false }
        let boundary = overflowBoundary.utf8Start
        let boundaryCount = overflowBoundary.utf8CodeUnitCount
        var k = 0
        var started = false
        for i in 0..<bytes.count {
            let byte = bytes[i]
            if byte | 0x20 == UInt8(ascii: "e") { break }
            guard isDigit(byte) else { continue }
            if !started {
                if byte == UInt8(ascii: "0") { continue }
                started = true
            }
            // At or past the boundary (any further digits only add): overflows.
            if k == boundaryCount { return false }
            if byte != boundary[k] { return byte < boundary[k] }
            k += 1
        }
        // Ran out of digits while equal so far: the boundary's tail is nonzero, so below it.
        return k < boundaryCount
    }

    /// 2^1024 − 2^970: half an ulp above Double.greatestFiniteMagnitude.
    static let overflowBoundary: StaticString =
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792"

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
