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
    ///
    /// Skips eight bytes at a time while none of them is special (payloads seldom hold one):
    /// a switch per byte was 17% of the worker's instructions in callgrind.
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var runStart = 0
        var index = 0
        while index < count {
            if index + 8 <= count,
                !hasSpecialByte(base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            {
                index += 8
                continue
            }
            let replacement: UInt8
            switch base.load(fromByteOffset: index, as: UInt8.self) {
            case backslash: replacement = backslash
            case newline: replacement = UInt8(ascii: "n")
            case tab: replacement = UInt8(ascii: "t")
            case UInt8(ascii: "\r"): replacement = UInt8(ascii: "r")
            default:
                index += 1
                continue
            }
            out.append(contentsOf: UnsafeRawBufferPointer(start: base + runStart, count: index - runStart))
            out.append(backslash)
            out.append(replacement)
            index += 1
            runStart = index
        }
        out.append(contentsOf: UnsafeRawBufferPointer(start: base + runStart, count: count - runStart))
    }

    /// Whether any of the eight bytes is a backslash, newline, tab or carriage return: the
    /// classic "has a zero byte" test, `(x - 0x01…) & ~x & 0x80…`, on the word XORed with each.
    @inline(__always)
    static func hasSpecialByte(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        return
            (zeroByte(word ^ (ones &* UInt64(backslash))) | zeroByte(word ^ (ones &* UInt64(newline)))
            | zeroByte(word ^ (ones &* UInt64(tab))) | zeroByte(word ^ (ones &* 0x0d))) != 0
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
        // 256 input bytes at a time through a stack buffer: two appends per byte (a uniqueness
        // check each) made rejected too-large messages 10% of the worker's instructions.
        let digits = hex.utf8Start
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buffer in
            var start = 0
            while start < bytes.count {
                let end = min(start + 256, bytes.count)
                var position = 0
                for index in start..<end {
                    let byte = bytes[index]
                    buffer[position] = digits[Int(byte >> 4)]
                    buffer[position + 1] = digits[Int(byte & 0x0f)]
                    position += 2
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<position]))
                start = end
            }
        }
    }
}
