/// The bytes of a JSON string's contents between its quotes, as offsets into the message.
public struct JSONStringSlice: Sendable, Equatable {
    public var range: Range<Int>
    /// False for the common case, where the raw bytes already are the decoded UTF-8.
    public var hasEscapes: Bool

    public init(range: Range<Int>, hasEscapes: Bool) {
        self.range = range
        self.hasEscapes = hasEscapes
    }
}

/// Decoding of strings the validator has accepted. These functions trust
/// that: on unvalidated input they do not crash but the output is unspecified.
public enum JSONText {
    /// Appends the UTF-8 of a validated string's decoded contents (escapes resolved, surrogate pairs joined).
    public static func appendDecoded(
        _ slice: JSONStringSlice, of message: UnsafeRawBufferPointer, to output: inout [UInt8]
    ) {
        let raw = UnsafeRawBufferPointer(rebasing: message[slice.range])
        guard slice.hasEscapes else {
            output.append(contentsOf: raw)
            return
        }
        output.reserveCapacity(output.count + raw.count)
        forEachDecodedByte(raw) { output.append($0) }
    }

    /// Unicode scalars in the decoded string, without decoding it.
    static func scalarCount(_ slice: JSONStringSlice, of message: UnsafeRawBufferPointer) -> Int {
        let raw = UnsafeRawBufferPointer(rebasing: message[slice.range])
        var count = 0
        var i = 0
        while i < raw.count {
            let byte = raw[i]
            if byte == UInt8(ascii: "\\"), i + 1 < raw.count {
                // A surrogate pair is two escapes but one scalar.
                i += raw[i + 1] == UInt8(ascii: "u") ? (isHighSurrogateEscape(raw, i) ? 12 : 6) : 2
                count += 1
            } else {
                if byte & 0xC0 != 0x80 { count += 1 }
                i += 1
            }
        }
        return count
    }

    /// Runs `body` over the decoded bytes of a validated string: the message
    /// bytes themselves when there is nothing to decode, else a scratch copy
    /// (on the stack for short strings; decoding never makes a string longer).
    @inline(__always)
    static func withDecoded<R>(
        _ slice: JSONStringSlice, of message: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) -> R
    ) -> R {
        let raw = UnsafeRawBufferPointer(rebasing: message[slice.range])
        guard slice.hasEscapes else { return body(raw) }
        return withUnsafeTemporaryAllocation(byteCount: raw.count, alignment: 1) { scratch in
            var n = 0
            forEachDecodedByte(raw) { byte in
                scratch[n] = byte
                n += 1
            }
            return body(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
    }

    // MARK: - Decoding

    @inline(__always)
    static func forEachDecodedByte(_ raw: UnsafeRawBufferPointer, _ emit: (UInt8) -> Void) {
        var i = 0
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\"), i + 1 < raw.count else {
                emit(byte)
                i += 1
                continue
            }
            let escaped = raw[i + 1]
            i += 2
            switch escaped {
            case UInt8(ascii: "b"): emit(0x08)
            case UInt8(ascii: "f"): emit(0x0C)
            case UInt8(ascii: "n"): emit(0x0A)
            case UInt8(ascii: "r"): emit(0x0D)
            case UInt8(ascii: "t"): emit(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(raw, i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar), isLowSurrogateEscape(raw, i) {
                    let low = hex4(raw, i + 2)
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                encodeUTF8(scalar, emit)
            default:  // '"', '\\', '/'
                emit(escaped)
            }
        }
    }

    @inline(__always)
    static func encodeUTF8(_ scalar: UInt32, _ emit: (UInt8) -> Void) {
        switch scalar {
        case 0..<0x80:
            emit(UInt8(scalar))
        case 0x80..<0x800:
            emit(UInt8(0xC0 | scalar >> 6))
            emit(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            emit(UInt8(0xE0 | scalar >> 12))
            emit(UInt8(0x80 | scalar >> 6 & 0x3F))
            emit(UInt8(0x80 | scalar & 0x3F))
        default:
            emit(UInt8(0xF0 | scalar >> 18 & 0x07))
            emit(UInt8(0x80 | scalar >> 12 & 0x3F))
            emit(UInt8(0x80 | scalar >> 6 & 0x3F))
            emit(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Four hex digits at `i`, 0 where they are missing or malformed.
    @inline(__always)
    static func hex4(_ raw: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        guard i + 4 <= raw.count else { return 0 }
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | UInt32(hexValue(raw[i + k]) ?? 0) }
        return value
    }

    /// Whether a `\uDC00`…`\uDFFF` escape starts at `i`.
    @inline(__always)
    static func isLowSurrogateEscape(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") else {
            return false
        }
        return (0xDC00...0xDFFF).contains(hex4(raw, i + 2))
    }

    /// Whether the `\u` escape at `i` is a high surrogate joined with a low one.
    @inline(__always)
    static func isHighSurrogateEscape(_ raw: UnsafeRawBufferPointer, _ i: Int) -> Bool {
        (0xD800...0xDBFF).contains(hex4(raw, i + 2)) && isLowSurrogateEscape(raw, i + 6)
    }
}
