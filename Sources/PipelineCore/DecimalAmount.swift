/// A non-negative JSON number as PostgreSQL's `numeric` reads it, `units` × 10^-`scale`, for the
/// amounts the worker sums itself (revenue, to the cent). `scale` is numeric's display scale:
/// the digits after the point once the exponent is applied (`1.50e1` is 15.0, scale 1), which
/// `sum` keeps at the largest scale it added. Only amounts of at most 18 significant digits
/// and 18 decimals are taken: anything else is left to PostgreSQL (`init` returns nil).
public struct DecimalAmount: Sendable, Equatable {
    public static let maxDigits = 18

    public var units: Int64
    public var scale: Int

    public init(units: Int64, scale: Int) {
        self.units = units
        self.scale = scale
    }

    /// Parses a JSON number the validator accepted as non-negative (`-0` included).
    public init?(json bytes: UnsafeRawBufferPointer) {
        var index = 0
        func digit(at index: Int) -> Int64? {
            guard index < bytes.count else { return nil }
            let value = bytes[index] &- UInt8(ascii: "0")
            return value < 10 ? Int64(value) : nil
        }
        var units: Int64 = 0
        var significant = 0
        var fraction = 0
        func take(_ value: Int64) -> Bool {
            if units == 0 && value == 0 { return true }
            significant += 1
            guard significant <= Self.maxDigits else { return false }
            units = units * 10 + value
            return true
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        while let value = digit(at: index) {
            guard take(value) else { return nil }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while let value = digit(at: index) {
                guard take(value) else { return nil }
                fraction += 1
                index += 1
            }
        }
        var exponent = 0
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var negative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            while let value = digit(at: index) {
                exponent = exponent * 10 + Int(value)
                guard exponent <= 1000 else { return nil }
                index += 1
            }
            if negative { exponent = -exponent }
        }
        guard index == bytes.count else { return nil }
        var scale = fraction - exponent
        if scale < 0 {
            // 1e2 is 100, scale 0
            guard significant - scale <= Self.maxDigits || units == 0 else { return nil }
            for _ in 0..<(-scale) where units != 0 { units *= 10 }
            scale = 0
        }
        guard scale <= Self.maxDigits else { return nil }
        self.init(units: units, scale: scale)
    }
}

/// An exact sum of amounts, as PostgreSQL's `sum(numeric)` gives it: the value, at the largest
/// scale added. Starts at 0 (scale 0), as `coalesce(sum(...), 0)` does for no amounts.
public struct DecimalSum: Sendable, Equatable {
    public private(set) var units: Int128 = 0
    public private(set) var scale = 0
    /// The sum left Int128's range: it cannot be shipped (the batch is aggregated in SQL).
    public private(set) var overflowed = false

    public init() {}

    public mutating func add(_ amount: DecimalAmount) {
        rescale(to: amount.scale)
        var addend = Int128(amount.units)
        for _ in amount.scale..<scale { multiply(&addend) }
        let (sum, overflow) = units.addingReportingOverflow(addend)
        units = sum
        overflowed = overflowed || overflow
    }

    public mutating func add(_ other: DecimalSum) {
        rescale(to: other.scale)
        var addend = other.units
        for _ in other.scale..<scale { multiply(&addend) }
        let (sum, overflow) = units.addingReportingOverflow(addend)
        units = sum
        overflowed = overflowed || overflow || other.overflowed
    }

    private mutating func rescale(to newScale: Int) {
        while scale < newScale {
            var value = units
            multiply(&value)
            units = value
            scale += 1
        }
    }

    private mutating func multiply(_ value: inout Int128) {
        let (product, overflow) = value.multipliedReportingOverflow(by: 10)
        value = product
        overflowed = overflowed || overflow
    }
}
