import EventContract
import EventGenerator
import Testing

/// 2026-11-24T10:15:03.250Z, advanced by a millisecond per message: a fixed clock.
private let startMicros: Int64 = 1_795_515_303_250_000

/// Runs the simulator for `count` messages and hands each to `body`.
private func generate(
    _ configuration: GeneratorConfiguration, count: Int,
    _ body: (EventSimulator.Message, [UInt8], [UInt8], Int64) throws -> Void
) rethrows {
    var simulator = EventSimulator(configuration: configuration)
    var key: [UInt8] = []
    var value: [UInt8] = []
    for index in 0..<count {
        let now = startMicros + Int64(index) * 1000
        let message = simulator.next(nowMicros: now, key: &key, value: &value)
        try body(message, key, value, now)
    }
}

private func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let needle = Array(needle.utf8)
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
}

private func validate(_ value: [UInt8], hasValue: Bool, now: Int64, maxMessageBytes: Int = 1_048_576)
    -> Result<ValidatedEvent, ContractError>
{
    let validator = EventValidator(limits: ContractLimits(maxMessageBytes: maxMessageBytes))
    return hasValue
        ? value.withUnsafeBytes { validator.validate($0, nowMicros: now) } : validator.validate(nil, nowMicros: now)
}

@Suite struct EventSimulatorTests {
    @Test func sameSeedSameBytes() {
        var configuration = GeneratorConfiguration(seed: 42, malformedRatio: 0.05, lateRatio: 0.05)
        var first: [[UInt8]] = []
        generate(configuration, count: 5_000) { _, key, value, _ in first.append(key + [0] + value) }
        var index = 0
        generate(configuration, count: 5_000) { _, key, value, _ in
            #expect(key + [0] + value == first[index], "message \(index) differs")
            index += 1
        }
        configuration.seed = 43
        var differing = 0
        index = 0
        generate(configuration, count: 100) { _, key, value, _ in
            if key + [0] + value != first[index] { differing += 1 }
            index += 1
        }
        #expect(differing == 100)
    }

    @Test func validEventsAreAcceptedWithTheUserAsKey() {
        var kinds: [String: Int] = [:]
        var late = 0
        generate(GeneratorConfiguration(seed: 7, lateRatio: 0.1), count: 50_000) { message, key, value, now in
            guard case .success(let event) = validate(value, hasValue: true, now: now) else {
                Issue.record("rejected: \(String(decoding: value, as: UTF8.self))")
                return
            }
            let keyed = contains(value, #""user_id":""# + String(decoding: key, as: UTF8.self) + "\"")
            #expect(keyed, "the key is not the user_id")
            kinds[String(describing: message.kind), default: 0] += 1
            let lag = now - event.eventTimeMicros
            if message.isLate {
                late += 1
                #expect(lag >= 60_000_000 && lag <= 901_000_000)
            } else {
                #expect(lag >= 0 && lag < 1000)
            }
        }
        #expect(kinds.keys.sorted() == ["click", "log", "pageView", "transaction"])
        #expect(abs(Double(late) / 50_000 - 0.1) < 0.01)
    }

    @Test(arguments: Malformation.allCases)
    func everyMalformationIsRejectedForItsReason(_ malformation: Malformation) {
        var simulator = EventSimulator(configuration: GeneratorConfiguration(seed: 3))
        var key: [UInt8] = []
        var value: [UInt8] = []
        for round in 0..<20 {
            let now = startMicros + Int64(round) * 7_919_000
            let hasValue = simulator.writeMalformed(malformation, nowMicros: now, key: &key, value: &value)
            #expect(hasValue == (malformation != .tombstone))
            #expect(!key.isEmpty)
            switch validate(value, hasValue: hasValue, now: now) {
            case .success: Issue.record("\(malformation) was accepted")
            case .failure(let error): #expect(error.reason.rawValue == malformation.expectedReason, "\(error)")
            }
        }
    }

    @Test func malformedRatioDrawsEveryKindAndOnlyThoseAreRejected() {
        var seen = Set<Malformation>()
        var malformed = 0
        let count = 100_000
        generate(GeneratorConfiguration(seed: 11, malformedRatio: 0.1, maxMessageBytes: 2_000), count: count) {
            message, _, value, now in
            // A small limit keeps the too_large messages small.
            let result = validate(value, hasValue: message.hasValue, now: now, maxMessageBytes: 2_000)
            switch (message.kind, result) {
            case (.malformed(let malformation), .failure(let error)):
                seen.insert(malformation)
                malformed += 1
                #expect(error.reason.rawValue == malformation.expectedReason)
            case (.malformed(let malformation), .success):
                Issue.record("\(malformation) was accepted")
            case (_, .failure(let error)):
                Issue.record("a valid \(message.kind) was rejected: \(error)")
            case (_, .success):
                break
            }
        }
        #expect(seen == Set(Malformation.allCases))
        #expect(abs(Double(malformed) / Double(count) - 0.1) < 0.005)
    }

    @Test func tooLargeIsOneByteOverTheLimit() {
        var simulator = EventSimulator(configuration: GeneratorConfiguration(seed: 1))
        var key: [UInt8] = []
        var value: [UInt8] = []
        _ = simulator.writeMalformed(.tooLarge, nowMicros: startMicros, key: &key, value: &value)
        #expect(value.count == 1_048_577)
    }

    @Test func funnelRatesHoldOverALargeSample() {
        var funnel = FunnelRates()
        funnel.meanPageViews = 3
        funnel.clickPerPageView = 0.5
        funnel.addToCart = 0.4
        funnel.checkout = 0.5
        funnel.purchase = 0.7
        var landings = 0
        var carts = 0
        var checkouts = 0
        var transactions = 0
        var pageViews = 0
        var logs = 0
        var total = 0
        generate(GeneratorConfiguration(seed: 5, concurrentSessions: 200, funnel: funnel), count: 400_000) {
            message, _, value, _ in
            total += 1
            switch message.kind {
            case .pageView:
                pageViews += 1
                if contains(value, #""referrer":"#) { landings += 1 }
                if contains(value, #""page":"/checkout""#) { checkouts += 1 }
            case .click: if contains(value, #""element":"add_to_cart""#) { carts += 1 }
            case .transaction: transactions += 1
            case .log: logs += 1
            case .malformed: Issue.record("no malformed messages were asked for")
            }
        }
        let cartRate = Double(carts) / Double(landings)
        let checkoutRate = Double(checkouts) / Double(carts)
        let purchaseRate = Double(transactions) / Double(checkouts)
        #expect(abs(cartRate - 0.4) < 0.02, "add_to_cart per session \(cartRate)")
        #expect(abs(checkoutRate - 0.5) < 0.03, "checkout per cart \(checkoutRate)")
        #expect(abs(purchaseRate - 0.7) < 0.03, "transaction per checkout \(purchaseRate)")
        // Landing + 3 further page views on average (plus checkout pages).
        let pagesPerSession = Double(pageViews - checkouts) / Double(landings)
        #expect(abs(pagesPerSession - 4) < 0.15, "page views per session \(pagesPerSession)")
        #expect(abs(Double(logs) / Double(total) - 0.15) < 0.01)
    }

    @Test func logsMixLevelsAndServicesWithErrorBursts() {
        var levels: [String: Int] = [:]
        var services: [String: Int] = [:]
        var longestErrorRun = 0
        var run = 0
        generate(GeneratorConfiguration(seed: 9, logShare: 1), count: 100_000) { _, _, value, _ in
            for level in ["debug", "info", "warn", "error"] where contains(value, #""level":""# + level + "\"") {
                levels[level, default: 0] += 1
                run = level == "error" ? run + 1 : 0
                longestErrorRun = max(longestErrorRun, run)
            }
            for service in ["api", "web", "payments"] where contains(value, #""service":""# + service + "\"") {
                services[service, default: 0] += 1
            }
        }
        #expect(levels.keys.count == 4 && services.keys.count == 3)
        #expect(levels["info", default: 0] > levels["error", default: 0] * 3)
        // Outside bursts errors are 4%: a run of 8 happens only in a burst.
        #expect(longestErrorRun >= 8)
    }
}
