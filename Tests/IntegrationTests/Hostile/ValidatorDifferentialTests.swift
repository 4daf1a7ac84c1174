import EventContract
import EventGenerator
import Foundation
import LibPQ
import Testing

/// The validator against PostgreSQL itself: a message the validator accepts
/// must be one `jsonb` takes, with the fields the validator read equal to the
/// ones `jsonb` keeps (duplicate keys: the last one); a message it refuses as
/// bad JSON or bad UTF-8 must be one `jsonb` refuses. Rejections for the
/// contract's own reasons (too large, too deep, missing fields...) are the
/// contract's business and need no agreement, except that they imply valid JSON.
@Suite("hostile input: the validator agrees with PostgreSQL jsonb")
struct ValidatorDifferentialTests {
    /// What the validator said, reduced to what PostgreSQL can be asked about.
    enum Verdict: Equatable, CustomStringConvertible {
        case accepted(eventID: String, type: String, userID: [UInt8], timeMicros: Int64)
        /// Valid JSON, refused for a rule of the contract (missing field, range...).
        case contractRefused(String)
        /// Not JSON that jsonb can store (syntax, UTF-8, \u0000, a number numeric cannot hold).
        case notStorable(String)
        /// Rejected before or without a full parse (too large, too deep): no claim about JSON.
        case noClaim(String)

        var description: String {
            switch self {
            case .accepted(let id, let type, _, _): "accepted \(type) \(id)"
            case .contractRefused(let reason): "refused (\(reason)), valid JSON"
            case .notStorable(let reason): "refused (\(reason)), not storable as jsonb"
            case .noClaim(let reason): "refused (\(reason))"
            }
        }
    }

    static let validator = EventValidator()
    static let nowMicros = Int64(Date().timeIntervalSince1970 * 1_000_000)

    static func verdict(_ bytes: [UInt8]?) -> Verdict {
        func run(_ buffer: UnsafeRawBufferPointer?) -> Verdict {
            switch validator.validate(buffer, nowMicros: nowMicros) {
            case .success(let event):
                var id: [UInt8] = []
                event.eventID.appendCanonical(to: &id)
                var user: [UInt8] = []
                JSONText.appendDecoded(event.userID, of: buffer!, to: &user)
                return .accepted(
                    eventID: String(decoding: id, as: UTF8.self), type: event.eventType.name, userID: user,
                    timeMicros: event.eventTimeMicros)
            case .failure(let error):
                switch error.reason {
                case .invalidJSON, .invalidUTF8, .nulEscape: return .notStorable(error.reason.rawValue)
                case .invalidValue where error.detail.contains("PostgreSQL numeric"):
                    return .notStorable("invalid_value (number)")
                case .tooLarge, .tooDeep, .empty: return .noClaim(error.reason.rawValue)
                default: return .contractRefused(error.reason.rawValue)
                }
            }
        }
        guard let bytes else { return run(nil) }
        return bytes.withUnsafeBytes { run($0.count == 0 ? nil : $0) }
    }

    /// nil when PostgreSQL refuses the bytes as jsonb; else what jsonb keeps of the contract's fields.
    static func postgres(_ bytes: [UInt8], on connection: PQConnection) throws -> [String?]? {
        let hex = "\\x" + bytes.map { String(format: "%02x", $0) }.joined()
        do {
            let row = try connection.execute(
                """
                SELECT j->>'event_id', j->>'event_type', encode(convert_to(j->>'user_id', 'UTF8'), 'hex'), j->>'event_time'
                FROM (SELECT convert_from($1::bytea, 'UTF8')::jsonb AS j) AS parsed
                """, [hex])
            return (0..<4).map { row.value(0, $0) }
        } catch let error as PostgresError where error.sqlState?.rawValue.hasPrefix("22") == true {
            // Syntax (22P02), encoding (22021), \u0000 (22P05), numeric overflow (22003): refused as jsonb.
            return nil
        }
    }

    /// PostgreSQL's reading of an accepted event's time, µs since the epoch (or its error).
    static func postgresMicros(_ time: String?, on connection: PQConnection) -> String {
        do {
            return try connection.execute(
                "SELECT (extract(epoch FROM $1::timestamptz) * 1000000)::bigint::text", [time]
            ).value(0, 0) ?? "null"
        } catch {
            return "\(error)"
        }
    }

    /// An empty string where the two agree, else what differs.
    static func disagreement(_ bytes: [UInt8]?, on connection: PQConnection) throws -> String? {
        let mine = verdict(bytes)
        if case .noClaim = mine { return nil }
        guard let bytes, !bytes.isEmpty else { return nil }
        let theirs = try postgres(bytes, on: connection)
        switch (mine, theirs) {
        case (.notStorable, nil): return nil
        case (.notStorable(let reason), _?): return "validator: \(reason); jsonb accepts it"
        case (.contractRefused(let reason), nil):
            return "validator: valid JSON refused for \(reason); jsonb refuses the JSON"
        case (.contractRefused, _?): return nil
        case (.accepted, nil): return "validator accepts; jsonb refuses"
        case (.accepted(let id, let type, let user, let micros), let fields?):
            let userHex = user.map { String(format: "%02x", $0) }.joined()
            if fields[0]?.lowercased() != id { return "event_id: validator \(id), jsonb \(fields[0] ?? "null")" }
            if fields[1] != type { return "event_type: validator \(type), jsonb \(fields[1] ?? "null")" }
            if fields[2] != userHex { return "user_id bytes: validator \(userHex), jsonb \(fields[2] ?? "null")" }
            let theirMicros = postgresMicros(fields[3], on: connection)
            if theirMicros != String(micros) {
                return "event_time: validator \(micros) µs, PostgreSQL \(theirMicros) for \(fields[3] ?? "null")"
            }
            return nil
        case (.noClaim, _): return nil
        }
    }

    static func describe(_ bytes: [UInt8]) -> String {
        let shown = bytes.prefix(160).map {
            $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0)
        }
        return shown.joined() + (bytes.count > 160 ? "…(\(bytes.count) bytes)" : "")
    }

    @Test("the hand-labelled hostile corpus: same verdict as jsonb, and the labels hold")
    func corpus() throws {
        let database = try TestDatabase.create("differential")
        let connection = try database.connect()
        for entry in HostileCorpus().entries {
            let mine = Self.verdict(entry.bytes)
            switch mine {
            case .accepted(let id, _, let user, _):
                #expect(entry.reason == nil, "\(entry.name): accepted, labelled \(entry.reason ?? "")")
                #expect(entry.eventID == nil || entry.eventID == id, "\(entry.name): event_id \(id)")
                if let expectedUser = entry.userID {
                    #expect(user == Array(expectedUser.utf8), "\(entry.name): user_id \(Self.describe(user))")
                }
            case .contractRefused(let reason), .notStorable(let reason), .noClaim(let reason):
                #expect(
                    entry.reason.map { reason.hasPrefix($0) } == true,
                    "\(entry.name): \(mine), labelled \(entry.reason ?? "valid")")
            }
            if let problem = try Self.disagreement(entry.bytes, on: connection) {
                Issue.record("\(entry.name): \(problem)")
            }
        }
    }

    /// Mutations that reach the corners of JSON, UTF-8 and COPY.
    static func mutate(_ input: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = input
        let interesting: [[UInt8]] = [
            [0x00], [0x01], [0x09], [0x0A], [0x22], [0x5C], [0x7F], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80],
            [0xEF, 0xBB, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xFF], Array(#"\u0000"#.utf8), Array(#"\ud800"#.utf8), Array(#"\udc00"#.utf8),
            Array(#"\ud83d\ude00"#.utf8), Array(#"\u2028"#.utf8), Array(#"\\N"#.utf8), Array("{".utf8), Array("}".utf8),
            Array("[".utf8), Array("]".utf8), Array(",".utf8), Array(":".utf8), Array("-0".utf8),
            Array("1e999999".utf8),
            Array("e".utf8), Array(".".utf8), Array("null".utf8), Array(#""event_id":"#.utf8),
            Array(#""user_id":"x","#.utf8),
            Array(" ".utf8),
        ]
        for _ in 0..<Int.random(in: 1...3, using: &generator) where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &generator)
            case 1: bytes.insert(contentsOf: interesting.randomElement(using: &generator)!, at: at)
            case 2:
                bytes.replaceSubrange(
                    at..<min(bytes.count, at + 1), with: interesting.randomElement(using: &generator)!)
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &generator)))
            default:
                let end = min(bytes.count, at + Int.random(in: 1...12, using: &generator))
                bytes.insert(contentsOf: Array(bytes[at..<end]), at: end)
            }
        }
        return bytes
    }

    @Test("seeded mutations of the corpus (a bounded fuzz against PostgreSQL): no crash, no disagreement")
    func mutations() throws {
        let environment = ProcessInfo.processInfo.environment
        let iterations =
            Int(environment["PIPELINE_FUZZ_ITERATIONS"] ?? "") ?? FaultScale.pick(suite: 4_000, soak: 200_000)
        let seed = UInt64(environment["PIPELINE_FUZZ_SEED"] ?? "") ?? 20_261_125
        let database = try TestDatabase.create("mutations")
        let connection = try database.connect()
        let seeds = HostileCorpus(includeHuge: false).entries.compactMap(\.bytes).filter {
            !$0.isEmpty && $0.count < 4_000
        }
        var generator = SplitMix64(seed: seed)
        var problems: [String] = []
        for _ in 0..<iterations {
            let input = Self.mutate(seeds.randomElement(using: &generator)!, using: &generator)
            if let problem = try Self.disagreement(input, on: connection) {
                problems.append("\(problem): \(Self.describe(input))")
                if problems.count >= 5 { break }
            }
        }
        FaultReport.note(
            "validator mutations against jsonb: \(iterations) inputs (seed \(seed)), \(problems.count) disagreement(s)")
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}
