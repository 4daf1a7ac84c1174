/// Appends values in PostgreSQL's COPY text format: columns separated by
/// tabs, rows by newlines, `\N` for NULL, and backslash, tab, newline and
/// carriage return escaped. Works on raw bytes so the hot path never builds
/// a String.
enum CopyText {
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let backslash = UInt8(ascii: "\\")

    /// `\N`
    static func appendNull(to out: inout [UInt8]) {
        out.append(backslash)
        out.append(UInt8(ascii: "N"))
    }

    /// Bytes with COPY's four special characters escaped.
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            let replacement: UInt8
            switch byte {
            case backslash: replacement = backslash
            case newline: replacement = UInt8(ascii: "n")
            case tab: replacement = UInt8(ascii: "t")
            case UInt8(ascii: "\r"): replacement = UInt8(ascii: "r")
            default: continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            out.append(backslash)
            out.append(replacement)
            runStart = index + 1
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart...]))
    }

    static func appendEscaped(_ bytes: [UInt8], to out: inout [UInt8]) {
        bytes.withUnsafeBytes { appendEscaped($0, to: &out) }
    }

    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendEscaped(UnsafeRawBufferPointer($0), to: &out) }
    }

    /// Decimal digits of an integer, without a String.
    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            // magnitude handles Int64.min
            appendUnsigned(value.magnitude, to: &out)
        } else {
            appendUnsigned(UInt64(value), to: &out)
        }
    }

    static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        if value < 10 {
            out.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        // At most 20 digits: fill a fixed-size stack buffer backwards.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var remaining = value
            var position = 20
            while remaining > 0 {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[position..<20]))
        }
    }

    /// A bytea value in hex input form, escaped for COPY text: `\\x0a1b...`.
    static func appendBytea(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        out.append(backslash)
        out.append(backslash)
        out.append(UInt8(ascii: "x"))
        out.reserveCapacity(out.count + bytes.count * 2)
        hex.withUTF8Buffer { digits in
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
    }
}
