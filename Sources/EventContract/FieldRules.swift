/// The contract's field rules, applied once the whole message is known to be
/// valid JSON, to the last occurrence of each known top-level field.
struct FieldRules {
    let message: UnsafeRawBufferPointer
    let limits: ContractLimits
    let nowMicros: Int64
    /// Filled by the scanner in place: the table is a few hundred bytes, not worth copying.
    var fields = FieldTable()

    func check() throws(ContractError) -> ValidatedEvent {
        let idSlice = try requireString(.eventID)
        let eventID = JSONText.withDecoded(idSlice, of: message) { UUIDBytes.parseCanonical($0) }
        guard let eventID else {
            throw invalid(.eventID, "is not a UUID in canonical 8-4-4-4-12 hex form")
        }

        let typeSlice = try requireString(.eventType)
        guard let eventType = JSONText.withDecoded(typeSlice, of: message, { EventType.match($0) })
        else {
            throw invalid(.eventType, "is not one of page_view, click, log, transaction")
        }

        let timeSlice = try requireString(.eventTime)
        guard
            let eventTime = JSONText.withDecoded(timeSlice, of: message, { EventTime.parseRFC3339($0) })
        else {
            throw invalid(.eventTime, "is not an RFC 3339 timestamp with a Z or ±HH:MM offset")
        }
        if eventTime < limits.minEventTimeMicros {
            throw failure(.timeOutOfRange, .eventTime, "is before the accepted minimum")
        }
        let (latest, overflow) = nowMicros.addingReportingOverflow(limits.maxFutureMicros)
        if !overflow, eventTime > latest {
            throw failure(
                .timeOutOfRange, .eventTime, "is further in the future than allowed after ingestion time")
        }

        let userID = try requireString(.userID)
        let length = JSONText.scalarCount(userID, of: message)
        guard length >= 1, length <= 128 else {
            throw invalid(.userID, "must be 1 to 128 characters long, has " + String(length))
        }

        try optional(.sessionID, .string)
        try optional(.page, .string)
        try optional(.device, .string)
        try optional(.properties, .object)
        if try optional(.country, .string) {
            let valid = JSONText.withDecoded(fields[.country].stringSlice, of: message) {
                $0.count == 2 && isUpperASCII($0[0]) && isUpperASCII($0[1])
            }
            guard valid else {
                throw invalid(.country, "must be two upper-case ASCII letters (ISO 3166-1 alpha-2)")
            }
        }

        switch eventType {
        case .pageView:
            try optional(.referrer, .string)
        case .click:
            _ = try requireString(.element)
        case .log:
            let level = try requireString(.level)
            let known = JSONText.withDecoded(level, of: message) {
                $0.equals("debug") || $0.equals("info") || $0.equals("warn") || $0.equals("error")
            }
            guard known else { throw invalid(.level, "is not one of debug, info, warn, error") }
            _ = try requireString(.service)
            _ = try requireString(.message)
        case .transaction:
            try checkAmount()
            let currency = try requireString(.currency)
            let valid = JSONText.withDecoded(currency, of: message) {
                $0.count == 3 && isUpperASCII($0[0]) && isUpperASCII($0[1]) && isUpperASCII($0[2])
            }
            guard valid else { throw invalid(.currency, "must be three upper-case ASCII letters") }
            _ = try requireString(.orderID)
        }

        var event = ValidatedEvent(
            eventID: eventID, eventType: eventType, eventTimeMicros: eventTime, userID: userID)
        event.fields = aggregateFields()
        return event
    }

    /// The checks above passed: each of these is a string, or absent or null (nil).
    private func aggregateFields() -> AggregateFields {
        func string(_ field: KnownField) -> JSONStringSlice? {
            fields[field].kind == .string ? fields[field].stringSlice : nil
        }
        var aggregate = AggregateFields()
        aggregate.sessionID = string(.sessionID)
        aggregate.page = string(.page)
        aggregate.country = string(.country)
        aggregate.element = string(.element)
        aggregate.currency = string(.currency)
        aggregate.service = string(.service)
        aggregate.level = string(.level)
        aggregate.amount = fields[.amount].kind == .number ? fields[.amount].range : nil
        return aggregate
    }

    private func checkAmount() throws(ContractError) {
        let value = fields[.amount]
        switch value.kind {
        case .absent: throw missing(.amount)
        case .number: break
        default: throw wrongType(.amount, "must be a JSON number")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: message[value.range])
        if JSONNumber.isNegative(bytes) { throw invalid(.amount, "must not be negative") }
        if !JSONNumber.isFiniteDouble(bytes) {
            throw invalid(.amount, "is too large for a finite double")
        }
    }

    // MARK: - Shapes

    private func requireString(_ field: KnownField) throws(ContractError) -> JSONStringSlice {
        let value = fields[field]
        switch value.kind {
        case .string: return value.stringSlice
        case .absent: throw missing(field)
        default: throw wrongType(field, "must be a string")
        }
    }

    /// Optional fields may be absent or JSON null (a project decision: producers
    /// that serialise nil as null are common); any other wrong type is refused.
    /// Returns whether a value of the expected kind is present.
    @discardableResult
    private func optional(_ field: KnownField, _ kind: JSONKind) throws(ContractError) -> Bool {
        let value = fields[field]
        switch value.kind {
        case .absent, .null: return false
        case kind: return true
        default:
            throw wrongType(
                field, kind == .object ? "must be an object or null" : "must be a string or null")
        }
    }

    // MARK: - Errors (reject path only)

    private func failure(_ reason: ContractError.Reason, _ field: KnownField, _ what: String)
        -> ContractError
    {
        let value = fields[field]
        let offset = value.kind == .absent ? nil : value.range.lowerBound
        var detail = field.name.description + " " + what
        if let offset { detail += " (value at byte " + String(offset) + ")" }
        return ContractError(reason: reason, detail: detail, path: field.path, byteOffset: offset)
    }

    private func missing(_ field: KnownField) -> ContractError {
        failure(.missingField, field, "is required but missing")
    }

    private func wrongType(_ field: KnownField, _ what: String) -> ContractError {
        failure(.wrongType, field, what)
    }

    private func invalid(_ field: KnownField, _ what: String) -> ContractError {
        failure(.invalidValue, field, what)
    }
}

@inline(__always)
private func isUpperASCII(_ byte: UInt8) -> Bool {
    byte &- UInt8(ascii: "A") < 26
}
