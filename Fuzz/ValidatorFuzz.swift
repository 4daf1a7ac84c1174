// A libFuzzer target for the event validator, built outside SwiftPM by
// scripts/soak with the EventContract sources:
//   swiftc -sanitize=fuzzer,address -parse-as-library -module-name EventContract \
//          Sources/EventContract/*.swift Fuzz/ValidatorFuzz.swift -o .build/fuzz-validator
// Checks: no crash, no out-of-bounds read (ASan), the same verdict twice, and
// an accepted event's user_id slice lies inside the message and decodes.
// The verdict against PostgreSQL itself is ValidatorDifferentialTests' job.

@_cdecl("LLVMFuzzerTestOneInput")
public func validatorFuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let message = UnsafeRawBufferPointer(start: data, count: size)
    let validator = EventValidator(limits: ContractLimits(maxMessageBytes: 1 << 16))
    let now: Int64 = 1_795_000_000_000_000
    let first = validator.validate(size == 0 ? nil : message, nowMicros: now)
    let second = validator.validate(size == 0 ? nil : message, nowMicros: now)
    switch (first, second) {
    case (.success(let a), .success(let b)):
        precondition(a.eventID == b.eventID && a.eventType == b.eventType && a.eventTimeMicros == b.eventTimeMicros)
        precondition(a.userID.range.lowerBound >= 0 && a.userID.range.upperBound <= size)
        var user: [UInt8] = []
        JSONText.appendDecoded(a.userID, of: message, to: &user)
        precondition(!user.isEmpty, "accepted an empty user_id")
    case (.failure(let a), .failure(let b)):
        precondition(a.reason == b.reason, "two verdicts for one message")
    default:
        preconditionFailure("accepted once, refused once")
    }
    return 0
}
