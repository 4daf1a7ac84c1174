/// Decides, in one pass over the borrowed bytes, whether a message follows the
/// event contract and whether PostgreSQL `jsonb` will take it, so that one bad
/// row never aborts a COPY. Accepting allocates nothing.
public struct EventValidator: Sendable {
    public let limits: ContractLimits

    public init(limits: ContractLimits = ContractLimits()) {
        self.limits = limits
    }

    /// nil or empty buffer = a tombstone / empty value. nowMicros: ingestion time (UTC µs since epoch).
    public func validate(_ message: UnsafeRawBufferPointer?, nowMicros: Int64) -> Result<
        ValidatedEvent, ContractError
    > {
        guard let message, let start = message.baseAddress, message.count > 0 else {
            return .failure(
                ContractError(reason: .empty, detail: "message value is empty or absent (tombstone)"))
        }
        guard message.count <= limits.maxMessageBytes else {
            return .failure(
                ContractError(
                    reason: .tooLarge,
                    detail: "message is " + String(message.count) + " bytes, over the limit of "
                        + String(limits.maxMessageBytes)))
        }
        // Kafka payloads are plain bytes; viewing them as UInt8 is how they were written.
        let base = start.assumingMemoryBound(to: UInt8.self)

        var rules = FieldRules(message: message, limits: limits, nowMicros: nowMicros)
        var currentField: KnownField?
        do throws(ScanError) {
            let isObject = try scanTopLevel(
                base, message.count, &rules.fields, &currentField, maxDepth: limits.maxDepth)
            guard isObject else {
                return .failure(
                    ContractError(reason: .notObject, detail: "JSON value is not an object", path: "$"))
            }
        } catch {
            var error = error
            if case .tooDeep = error.kind {
                // PostgreSQL has no depth limit of its own, so when the rest of the
                // message is not valid JSON either, that is the truer reason: look
                // (reject path only) before reporting too_deep.
                var scratch = FieldTable()
                var field: KnownField?
                do throws(ScanError) {
                    _ = try scanTopLevel(base, message.count, &scratch, &field, maxDepth: .max)
                } catch let deeper {
                    error = deeper
                    currentField = field
                }
            }
            return .failure(contractError(error, base, message.count, currentField))
        }

        do throws(ContractError) {
            return .success(try rules.check())
        } catch {
            return .failure(error)
        }
    }

    /// Scans the whole message, recording the value of each known top-level
    /// key. Returns false for valid JSON that is not an object.
    /// `currentField` names the known field being scanned, for error paths.
    @inline(__always)
    private func scanTopLevel(
        _ base: UnsafePointer<UInt8>, _ count: Int, _ fields: inout FieldTable,
        _ currentField: inout KnownField?, maxDepth: Int
    ) throws(ScanError) -> Bool {
        let message = UnsafeRawBufferPointer(start: base, count: count)
        var scanner = JSONScanner(base: base, count: count, maxDepth: maxDepth)
        // RFC 8259 §8.1: no BOM; reported as such rather than as a stray byte.
        if count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF {
            throw ScanError(.byteOrderMark, at: 0)
        }
        scanner.skipWhitespace()
        guard try scanner.current() == UInt8(ascii: "{") else {
            _ = try scanner.scanValue(level: 1)
            try expectEnd(&scanner)
            return false
        }
        guard maxDepth >= 1 else {
            throw ScanError(.tooDeep(limit: maxDepth), at: scanner.pos)
        }
        scanner.pos += 1
        scanner.skipWhitespace()
        if try scanner.current() == UInt8(ascii: "}") {
            scanner.pos += 1
        } else {
            while true {
                guard try scanner.current() == UInt8(ascii: "\"") else {
                    throw ScanError(.unexpectedByte(expected: "a string key"), at: scanner.pos)
                }
                let key = try scanner.scanString()
                let field = KnownField.match(key, in: message)
                scanner.skipWhitespace()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                let valueStart = scanner.pos
                currentField = field
                let (kind, hasEscapes) = try scanner.scanValue(level: 2)
                if let field {
                    fields[field] = FieldValue(
                        kind: kind, range: valueStart..<scanner.pos, hasEscapes: hasEscapes)
                }
                currentField = nil
                scanner.skipWhitespace()
                let byte = try scanner.current()
                if byte == UInt8(ascii: ",") {
                    scanner.pos += 1
                    scanner.skipWhitespace()
                } else if byte == UInt8(ascii: "}") {
                    scanner.pos += 1
                    break
                } else {
                    throw ScanError(.unexpectedByte(expected: "',' or '}'"), at: scanner.pos)
                }
            }
        }
        try expectEnd(&scanner)
        return true
    }

    @inline(__always)
    private func expectEnd(_ scanner: inout JSONScanner) throws(ScanError) {
        scanner.skipWhitespace()
        guard scanner.pos == scanner.end else { throw ScanError(.trailingBytes, at: scanner.pos) }
    }

    /// Bad UTF-8 anywhere wins over whatever JSON error came first: PostgreSQL
    /// checks the encoding of the whole row before parsing it.
    private func contractError(
        _ error: ScanError, _ base: UnsafePointer<UInt8>, _ count: Int, _ field: KnownField?
    ) -> ContractError {
        var error = error
        if error.reason != .invalidUTF8, let offset = UTF8Validation.firstInvalidOffset(base, count) {
            error = ScanError(.invalidUTF8, at: offset)
        }
        let inField = error.reason == .invalidUTF8 ? nil : field
        return ContractError(
            reason: error.reason,
            detail: error.message + " at byte " + String(error.offset)
                + (inField.map { " (in the value of " + $0.name.description + ")" } ?? ""),
            path: inField?.path,
            byteOffset: error.offset)
    }
}
