import EventContract
import EventGenerator
import Testing

/// 2026-11-24T10:15:03.250Z: the first clock reading.
private let firstReading: Int64 = 1_795_515_303_250_000
private let hourMicros: Int64 = 3_600_000_000

/// FNV-1a over every message's key and value, a separator after each.
private func fingerprint(_ configuration: GeneratorConfiguration, count: Int) -> UInt64 {
    var simulator = EventSimulator(configuration: configuration)
    var key: [UInt8] = []
    var value: [UInt8] = []
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func add(_ bytes: [UInt8]) { for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 } }
    for index in 0..<count {
        _ = simulator.next(nowMicros: firstReading + Int64(index) * 1000, key: &key, value: &value)
        add(key)
        add([0])
        add(value)
        add([0xFF])
    }
    return hash
}

/// The 16 hex digits after `"session_id":"s-`, or nil.
private func sessionID(in value: [UInt8]) -> Substring? {
    let needle = Array(#""session_id":"s-"#.utf8)
    guard value.count > needle.count + 16 else { return nil }
    for start in 0...(value.count - needle.count - 16)
    where value[start] == needle[0] && value[start..<(start + needle.count)].elementsEqual(needle) {
        let from = start + needle.count
        return Substring(decoding: value[from..<(from + 16)], as: UTF8.self)
    }
    return nil
}

private struct Pair: Hashable {
    var user: Substring
    var session: Substring
}

/// What a data set looks like from its messages, every one of them validated by the contract.
private struct Shape {
    var events = 0
    var users = Set<Substring>()
    var sessions = Set<Substring>()
    var usersOfSession: [Substring: Substring] = [:]
    /// Session ids seen with more than one user.
    var sharedSessions = Set<Substring>()
    var pairs = Set<Pair>()
    var firstTime = Int64.max
    var lastTime = Int64.min
    var late = 0

    init(_ configuration: GeneratorConfiguration, count: Int, lastReading: Int64? = nil) {
        var simulator = EventSimulator(configuration: configuration)
        var key: [UInt8] = []
        var value: [UInt8] = []
        let validator = EventValidator(limits: ContractLimits())
        for index in 0..<count {
            let now = firstReading + Int64(index) * 1000
            let message = simulator.next(nowMicros: now, key: &key, value: &value)
            let validated = value.withUnsafeBytes { validator.validate($0, nowMicros: lastReading ?? now) }
            guard case .success(let event) = validated else {
                Issue.record("rejected: \(String(decoding: value, as: UTF8.self))")
                continue
            }
            events += 1
            if message.isLate { late += 1 }
            firstTime = min(firstTime, event.eventTimeMicros)
            lastTime = max(lastTime, event.eventTimeMicros)
            let user = Substring(decoding: key, as: UTF8.self)
            users.insert(user)
            guard let session = sessionID(in: value) else {
                Issue.record("no session_id: \(String(decoding: value, as: UTF8.self))")
                continue
            }
            sessions.insert(session)
            pairs.insert(Pair(user: user, session: session))
            if let other = usersOfSession.updateValue(user, forKey: session), other != user {
                sharedSessions.insert(session)
            }
        }
    }
}

@Suite struct HighCardinalityTests {
    /// Today's data sets stay byte for byte what they were before these options existed
    /// (fingerprints taken at commit 87b195d): benchmarks and tests compare runs across commits.
    @Test func optionsThatAreOffKeepTodaysBytes() {
        #expect(fingerprint(GeneratorConfiguration(seed: 1), count: 20_000) == 0x9ddb_1af2_d395_29ff)
        #expect(
            fingerprint(GeneratorConfiguration(seed: 42, malformedRatio: 0.05, lateRatio: 0.05), count: 20_000)
                == 0x1ff3_8596_f2b3_a49d)
        #expect(fingerprint(GeneratorConfiguration(seed: 7, lateRatio: 0.1), count: 20_000) == 0x1bc9_d20b_8bd0_1b37)
    }

    @Test func todaysSessionsBelongToOneUser() {
        let shape = Shape(GeneratorConfiguration(seed: 3), count: 50_000)
        #expect(shape.sharedSessions.isEmpty)
        #expect(shape.users.count < 5_000)
        // Coherent sessions: several events per (user, session).
        #expect(shape.pairs.count * 4 < shape.events)
    }

    /// The benchmark's high-cardinality shape, scaled down: users drawn per event, session ids
    /// from a pool independent of them, an hour of event time produced in a moment.
    @Test func highCardinalityShape() {
        let count = 100_000
        let configuration = GeneratorConfiguration(
            seed: 5, users: 30_000, lateRatio: 0.02, sessionIDs: 200_000, userDraw: .event,
            eventTimeSpan: EventTimeSpan(micros: hourMicros, messages: count))
        let lastReading = firstReading + Int64(count - 1) * 1000
        let shape = Shape(configuration, count: count, lastReading: lastReading)
        #expect(shape.events == count)
        // 100 000 uniform draws from 30 000 users leave about 30 000 × e^(-10/3) ≈ 1 070 unseen.
        #expect(shape.users.count >= 28_500, "distinct users \(shape.users.count)")
        #expect(shape.users.count <= 30_000)
        // Session ids are not a function of users nor users of session ids: nearly every event is a
        // new (user, session) pair, and ids drawn twice mostly come with another user.
        #expect(shape.pairs.count >= count * 95 / 100, "pairs \(shape.pairs.count)")
        // 100 000 draws from 200 000 ids: about 200 000 × (1 − e^(−1/2)) ≈ 78 700 distinct.
        #expect(shape.sessions.count <= 200_000)
        #expect(shape.sessions.count >= 75_000, "session ids \(shape.sessions.count)")
        #expect(shape.sharedSessions.count >= 10_000, "session ids with several users \(shape.sharedSessions.count)")
        // An hour of event time ending at the first clock reading; late events lag up to 15 minutes more.
        #expect(shape.lastTime == firstReading)
        #expect(shape.firstTime <= firstReading - hourMicros)
        #expect(shape.firstTime >= firstReading - hourMicros - 901_000_000)
        #expect(abs(Double(shape.late) / Double(count) - 0.02) < 0.003)
    }

    @Test func theSimulatedClockSpansExactlyAndThenKeepsItsPace() {
        let span = EventTimeSpan(micros: 7_200_000_000, messages: 7)
        var simulator = EventSimulator(configuration: GeneratorConfiguration(seed: 2, eventTimeSpan: span))
        var key: [UInt8] = []
        var value: [UInt8] = []
        let validator = EventValidator(limits: ContractLimits())
        var times: [Int64] = []
        for index in 0..<9 {
            // Readings that jump about: only the first counts.
            _ = simulator.next(nowMicros: firstReading + Int64(index * index) * 999_000, key: &key, value: &value)
            let validated = value.withUnsafeBytes { validator.validate($0, nowMicros: firstReading) }
            guard case .success(let event) = validated else {
                Issue.record("rejected: \(String(decoding: value, as: UTF8.self))")
                return
            }
            times.append(event.eventTimeMicros)
        }
        let step: Int64 = 1_200_000_000
        #expect(times == (0..<9).map { firstReading - 7_200_000_000 + Int64($0) * step })
    }

    @Test func userIDsPastSixDigitsGrowAWiderNumber() {
        let configuration = GeneratorConfiguration(seed: 8, users: 50_000_000, userDraw: .event)
        let shape = Shape(configuration, count: 2_000)
        for user in shape.users {
            // u000042 as before; u1234567, u12345678: no padding past six digits, no overflow.
            let number = Int(user.dropFirst())
            #expect(user.first == "u" && number.map { $0 < 50_000_000 } == true, "\(user)")
            #expect(user.count == max(7, 1 + String(number ?? 0).count), "\(user)")
        }
        #expect(shape.users.count > 1_990)
        #expect(shape.users.contains { $0.count == 9 })
    }
}
