import EventContract
import Foundation

/// The fixture folders, found from this file's path (they are excluded from
/// the target, so there is no bundle to look in).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// File names in `valid/` or `invalid/`, sorted so test arguments are stable.
    static func names(in folder: String) -> [String] {
        let url = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func bytes(_ folder: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(folder).appendingPathComponent(name)))
    }

    /// `reason__what.json` → `reason`.
    static func expectedReason(_ name: String) -> String? {
        name.range(of: "__").map { String(name[..<$0.lowerBound]) }
    }

    /// Ingestion time for fixtures: the real clock, so the future bound is the
    /// one production applies (valid fixtures use past dates only).
    static var nowMicros: Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// Validates a byte array with the given validator.
func validate(
    _ bytes: [UInt8], _ validator: EventValidator = EventValidator(), now: Int64 = Fixtures.nowMicros
) -> Result<ValidatedEvent, ContractError> {
    bytes.withUnsafeBytes { validator.validate($0, nowMicros: now) }
}

func validate(
    _ text: String, _ validator: EventValidator = EventValidator(), now: Int64 = Fixtures.nowMicros
) -> Result<ValidatedEvent, ContractError> {
    validate(Array(text.utf8), validator, now: now)
}

extension Result where Failure == ContractError {
    var reason: String? {
        if case .failure(let error) = self { return error.reason.rawValue }
        return nil
    }
    var error: ContractError? {
        if case .failure(let error) = self { return error }
        return nil
    }
    var event: Success? {
        if case .success(let event) = self { return event }
        return nil
    }
}
