/// Simulated shop traffic as Kafka messages: users in sessions walking a funnel (landing page,
/// page views, clicks, `add_to_cart`, checkout, `transaction`), `log` events from the services
/// `api`, `web` and `payments` with bursts of errors, and, on request, late and malformed messages.
///
/// Events are written straight into the caller's byte buffers (key = `user_id`), no `String` or
/// Foundation object per event. The bytes depend only on the configuration and the clock readings
/// passed to `next`: the same seed and the same clock give the same messages (with an
/// `eventTimeSpan`, only the first reading counts). Options that are off draw no random numbers,
/// so they never change the messages of a configuration without them.
public struct EventSimulator: Sendable {
    public enum Kind: Sendable, Equatable {
        case pageView, click, log, transaction
        case malformed(Malformation)

        public var isMalformed: Bool {
            if case .malformed = self { return true }
            return false
        }
    }

    /// What `next` wrote.
    public struct Message: Sendable, Equatable {
        public var kind: Kind
        /// False for a tombstone: produce no value at all (the buffer is empty).
        public var hasValue: Bool
        /// The valid event's `event_time` lags the clock by minutes.
        public var isLate: Bool
    }

    private struct Session {
        enum Stage { case landing, browsing, paying }
        var user: Int
        var id: UInt64
        var stage = Stage.landing
        var pagesLeft: Int
        /// Page views left when the `add_to_cart` click comes (-1: never).
        var cartAtPagesLeft: Int
        var willCheckout: Bool
        var willPay: Bool
        var carted = false
        var clickPending = false
        var addToCartPending = false
        var page = 0
        var cartCents = 0
    }

    public let configuration: GeneratorConfiguration
    private var random: SplitMix64
    private var sessions: [Session] = []
    private var timestamps = TimestampWriter()
    private var burstService = -1
    private var burstLeft = 0
    /// The user of the event just written: its message key.
    private var writtenUser = 0
    /// With `userDraw == .event`, the user drawn for the event being written (else -1).
    private var eventUser = -1
    /// The simulated clock (`eventTimeSpan`): its origin, set by the first `next`, and the messages made.
    private var clockOrigin: Int64?
    private var clockTicks: Int64 = 0

    public init(configuration: GeneratorConfiguration) {
        precondition(configuration.users > 0 && configuration.concurrentSessions > 0 && configuration.sessionIDs >= 0)
        precondition(configuration.eventTimeSpan.map { $0.micros >= 0 && $0.messages > 0 } ?? true)
        self.configuration = configuration
        self.random = SplitMix64(seed: configuration.seed)
        sessions.reserveCapacity(configuration.concurrentSessions)
        for _ in 0..<configuration.concurrentSessions { sessions.append(makeSession()) }
    }

    /// Writes the next message into `key` and `value` (both cleared first) with event times taken
    /// from `nowMicros` (UTC µs since the epoch), or from the simulated clock of `eventTimeSpan`.
    public mutating func next(nowMicros reading: Int64, key: inout [UInt8], value: inout [UInt8]) -> Message {
        let nowMicros = simulatedTime(reading)
        key.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        if configuration.malformedRatio > 0 && random.chance(configuration.malformedRatio) {
            let malformation = drawMalformation()
            let hasValue = writeMalformed(malformation, nowMicros: nowMicros, key: &key, value: &value)
            return Message(kind: .malformed(malformation), hasValue: hasValue, isLate: false)
        }
        var eventTime = nowMicros
        let isLate = configuration.lateRatio > 0 && random.chance(configuration.lateRatio)
        if isLate {
            let lag = configuration.lateLagSeconds
            eventTime -= Int64(lag.lowerBound + random.below(lag.count)) * 1_000_000 + Int64(random.below(1000)) * 1000
        }
        let slot = random.below(sessions.count)
        if configuration.userDraw == .event { eventUser = random.below(configuration.users) }
        let kind: Kind
        if random.chance(configuration.logShare) {
            writeLog(session: sessions[slot], time: eventTime, into: &value)
            kind = .log
        } else {
            kind = step(slot, time: eventTime, into: &value)
        }
        appendUserID(writtenUser, to: &key)
        return Message(kind: kind, hasValue: true, isLate: isLate)
    }

    /// Writes one malformed message of the given kind; returns false for a tombstone (no value).
    public mutating func writeMalformed(
        _ malformation: Malformation, nowMicros: Int64, key: inout [UInt8], value: inout [UInt8]
    ) -> Bool {
        key.removeAll(keepingCapacity: true)
        value.removeAll(keepingCapacity: true)
        let user = random.below(configuration.users)
        appendUserID(user, to: &key)
        switch malformation {
        case .tombstone: return false
        case .emptyValue: return true
        case .byteOrderMark:
            value.append(contentsOf: [0xEF, 0xBB, 0xBF])
            writeBrokenClick(user: user, time: nowMicros, element: "search", into: &value)
        case .invalidUTF8:
            writeBrokenClick(user: user, time: nowMicros, element: "caf", into: &value)
            // "caf" + C3 28: a two-byte lead followed by '(' instead of a continuation byte.
            value.insert(contentsOf: [0xC3, 0x28], at: value.count - 2)
        case .loneSurrogate:
            writeBrokenClick(user: user, time: nowMicros, element: #"smile \ud83d"#, into: &value)
        case .rawControlCharacter:
            writeBrokenClick(user: user, time: nowMicros, element: "tab\there", into: &value)
        case .trailingBytes:
            writeBrokenClick(user: user, time: nowMicros, element: "nav", into: &value)
            value.append(" {}")
        case .truncated:
            writeBrokenClick(user: user, time: nowMicros, element: "nav", into: &value)
            value.removeLast(value.count / 2)
        case .notObject:
            value.append(#"["click","#)
            value.append(UInt8(ascii: "\""))
            appendUserID(user, to: &value)
            value.append(#""]"#)
        case .missingField:
            value.append(#"{"event_type":"click","event_time":""#)
            timestamps.append(micros: nowMicros, to: &value)
            value.append(#"","user_id":""#)
            appendUserID(user, to: &value)
            value.append(#"","element":"nav"}"#)
        case .wrongType:
            writeBrokenTransaction(user: user, time: nowMicros, amount: #""12.50""#, currency: "EUR", into: &value)
        case .invalidValue:
            writeBrokenTransaction(user: user, time: nowMicros, amount: "12.50", currency: "euro", into: &value)
        case .invalidTimestamp:
            value.append(#"{"event_id":""#)
            value.appendUUID(random.next(), random.next())
            value.append(#"","event_type":"click","event_time":"2026-13-45T25:61:00Z","user_id":""#)
            appendUserID(user, to: &value)
            value.append(#"","element":"nav"}"#)
        case .nulEscape:
            writeBrokenClick(user: user, time: nowMicros, element: #"a\u0000b"#, into: &value)
        case .tooLarge:
            writeBrokenClick(user: user, time: nowMicros, element: "upload", into: &value)
            value.removeLast()
            value.append(#","properties":{"blob":""#)
            let padding = max(0, configuration.maxMessageBytes + 1 - value.count - 3)
            value.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: padding))
            value.append(#""}}"#)
        case .tooDeep:
            writeBrokenClick(user: user, time: nowMicros, element: "nav", into: &value)
            value.removeLast()
            // The event object is level 1: `maxDepth` arrays inside it make maxDepth + 1 levels.
            value.append(#","properties":"#)
            value.append(contentsOf: repeatElement(UInt8(ascii: "["), count: configuration.maxDepth))
            value.append(contentsOf: repeatElement(UInt8(ascii: "]"), count: configuration.maxDepth))
            value.append(UInt8(ascii: "}"))
        case .timeOutOfRange:
            // 1999-01-01, or two days ahead of the clock.
            let time = random.chance(0.5) ? 915_148_800_000_000 : nowMicros + 2 * 86_400_000_000
            writeBrokenClick(user: user, time: time, element: "nav", into: &value)
        }
        return true
    }

    // MARK: - Sessions and the funnel

    private mutating func makeSession() -> Session {
        let funnel = configuration.funnel
        // Geometric number of further page views with the configured mean.
        var pages = 0
        let continueChance = funnel.meanPageViews / (funnel.meanPageViews + 1)
        while random.chance(continueChance) && pages < 200 { pages += 1 }
        var cartAt = -1
        if random.chance(funnel.addToCart) {
            pages = max(pages, 1)
            cartAt = random.below(pages)
        }
        return Session(
            user: random.below(configuration.users), id: random.next(), pagesLeft: pages, cartAtPagesLeft: cartAt,
            willCheckout: random.chance(funnel.checkout), willPay: random.chance(funnel.purchase))
    }

    /// Advances session `slot` by one event.
    private mutating func step(_ slot: Int, time: Int64, into value: inout [UInt8]) -> Kind {
        var session = sessions[slot]
        defer { sessions[slot] = session }
        switch session.stage {
        case .landing:
            session.page = random.below(Catalog.landingPages.count)
            writeCommon(session, type: "page_view", time: time, page: Catalog.landingPages[session.page], into: &value)
            value.append(#","referrer":""#)
            value.append(Catalog.referrers[random.below(Catalog.referrers.count)])
            value.append(#"","properties":{"load_ms":"#)
            value.appendDecimal(80 + random.below(900))
            value.append("}}")
            session.stage = .browsing
            session.clickPending = random.chance(configuration.funnel.clickPerPageView)
            return .pageView
        case .browsing:
            if session.clickPending || session.addToCartPending {
                let element: StaticString
                if session.addToCartPending {
                    element = "add_to_cart"
                    session.carted = true
                    session.cartCents += 499 + random.below(12_000)
                    session.addToCartPending = false
                } else {
                    element = Catalog.elements[random.below(Catalog.elements.count)]
                    session.clickPending = false
                }
                writeCommon(session, type: "click", time: time, page: Catalog.productPages[session.page], into: &value)
                value.append(#","element":""#)
                value.append(element)
                value.append(#""}"#)
                return .click
            }
            if session.pagesLeft > 0 {
                session.pagesLeft -= 1
                session.page = random.below(Catalog.productPages.count)
                writeCommon(
                    session, type: "page_view", time: time, page: Catalog.productPages[session.page], into: &value)
                value.append(#","properties":{"load_ms":"#)
                value.appendDecimal(60 + random.below(700))
                value.append("}}")
                session.clickPending = random.chance(configuration.funnel.clickPerPageView)
                session.addToCartPending = session.pagesLeft == session.cartAtPagesLeft
                return .pageView
            }
            if session.carted && session.willCheckout {
                writeCommon(session, type: "page_view", time: time, page: "/checkout", into: &value)
                value.append("}")
                if session.willPay { session.stage = .paying } else { session = makeSession() }
                return .pageView
            }
            // The session ends here; its slot starts a new one with this event.
            session = makeSession()
            return step(slot, replacing: &session, time: time, into: &value)
        case .paying:
            let country = countryIndex(user(of: session))
            writeCommon(session, type: "transaction", time: time, page: "/checkout", into: &value)
            value.append(#","amount":"#)
            // JPY has no minor unit: whole amounts, still a JSON number.
            if Catalog.wholeAmounts[country] {
                value.appendDecimal(session.cartCents)
            } else {
                value.appendCents(session.cartCents)
            }
            value.append(#","currency":""#)
            value.append(Catalog.currencies[country])
            value.append(#"","order_id":"o-"#)
            value.appendHex(random.next(), digits: 12)
            value.append(#""}"#)
            session = makeSession()
            return .transaction
        }
    }

    /// `step` for a session that is not stored yet (a fresh one replacing an ended one).
    private mutating func step(_ slot: Int, replacing session: inout Session, time: Int64, into value: inout [UInt8])
        -> Kind
    {
        sessions[slot] = session
        let kind = step(slot, time: time, into: &value)
        session = sessions[slot]
        return kind
    }

    // MARK: - Logs

    private mutating func writeLog(session: Session, time: Int64, into value: inout [UInt8]) {
        if burstLeft == 0 && random.chance(0.0002) {
            burstService = random.below(Catalog.services.count)
            burstLeft = 50 + random.below(250)
        }
        let service: Int
        let level: Int  // index into Catalog.levels: debug, info, warn, error
        if burstLeft > 0 {
            burstLeft -= 1
            service = burstService
            level = random.chance(0.7) ? 3 : (random.chance(0.5) ? 2 : 1)
        } else {
            let s = random.below(100)
            service = s < 50 ? 0 : (s < 85 ? 1 : 2)
            let l = random.below(100)
            level = l < 12 ? 0 : (l < 84 ? 1 : (l < 96 ? 2 : 3))
        }
        writtenUser = user(of: session)
        writeHead(type: "log", user: writtenUser, time: time, into: &value)
        value.append(#"","session_id":"s-"#)
        appendSessionID(of: session, to: &value)
        value.append(#"","service":""#)
        value.append(Catalog.services[service])
        value.append(#"","level":""#)
        value.append(Catalog.levels[level])
        value.append(#"","message":""#)
        let messages = Catalog.logMessages[level]
        value.append(messages[random.below(messages.count)])
        value.append(#"","properties":{"latency_ms":"#)
        value.appendDecimal(level == 3 ? 500 + random.below(9_500) : 2 + random.below(300))
        value.append("}}")
    }

    // MARK: - Writing

    /// `{"event_id":"…","event_type":"…","event_time":"…","user_id":"u…` — every event's first
    /// fields, the user_id string left open.
    private mutating func writeHead(type: StaticString, user: Int, time: Int64, into value: inout [UInt8]) {
        value.append(#"{"event_id":""#)
        value.appendUUID(random.next(), random.next())
        value.append(#"","event_type":""#)
        value.append(type)
        value.append(#"","event_time":""#)
        timestamps.append(micros: time, to: &value)
        value.append(#"","user_id":""#)
        appendUserID(user, to: &value)
    }

    /// `{"event_id":…,"event_type":…,…,"country":"XX"` — the object left open.
    private mutating func writeCommon(
        _ session: Session, type: StaticString, time: Int64, page: StaticString, into value: inout [UInt8]
    ) {
        writtenUser = user(of: session)
        writeHead(type: type, user: writtenUser, time: time, into: &value)
        value.append(#"","session_id":"s-"#)
        appendSessionID(of: session, to: &value)
        value.append(#"","page":""#)
        value.append(page)
        value.append(#"","device":""#)
        value.append(Catalog.devices[deviceIndex(writtenUser)])
        value.append(#"","country":""#)
        value.append(Catalog.countries[countryIndex(writtenUser)])
        value.append(UInt8(ascii: "\""))
    }

    /// A click whose `element` is written raw (it may carry the breakage), the object closed.
    private mutating func writeBrokenClick(user: Int, time: Int64, element: StaticString, into value: inout [UInt8]) {
        writeHead(type: "click", user: user, time: time, into: &value)
        value.append(#"","element":""#)
        value.append(element)
        value.append(#""}"#)
    }

    private mutating func writeBrokenTransaction(
        user: Int, time: Int64, amount: StaticString, currency: StaticString, into value: inout [UInt8]
    ) {
        writeHead(type: "transaction", user: user, time: time, into: &value)
        value.append(#"","amount":"#)
        value.append(amount)
        value.append(#","currency":""#)
        value.append(currency)
        value.append(#"","order_id":"o-"#)
        value.appendHex(random.next(), digits: 12)
        value.append(#""}"#)
    }

    private func appendUserID(_ user: Int, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "u"))
        // Six digits up to u999999 (the ids of every earlier data set), one more per power of ten after.
        var width = 6
        var limit = 1_000_000
        while width < 18 && user >= limit {
            width += 1
            limit *= 10
        }
        output.appendPadded(user, width: width)
    }

    /// The event's user: its session's, or the one drawn for this event (`userDraw == .event`).
    private func user(of session: Session) -> Int {
        eventUser >= 0 ? eventUser : session.user
    }

    /// 16 hex digits: the session's own id, or one drawn from the pool of `sessionIDs`. `mix` is a
    /// bijection, so a pool of N gives exactly N distinct ids, scattered like random ones.
    private mutating func appendSessionID(of session: Session, to output: inout [UInt8]) {
        let pool = configuration.sessionIDs
        let id = pool > 0 ? mix(UInt64(random.below(pool)) ^ 0x5E55_1D00_0000_0000) : session.id
        output.appendHex(id, digits: 16)
    }

    /// The clock reading itself, or the simulated clock's time for the next message (`eventTimeSpan`).
    private mutating func simulatedTime(_ reading: Int64) -> Int64 {
        guard let span = configuration.eventTimeSpan else { return reading }
        let origin = clockOrigin ?? (reading - span.micros)
        clockOrigin = origin
        let steps = Int64(max(1, span.messages - 1))
        // Whole steps plus the remainder's share: exact, and no overflow for any realistic span.
        let time = origin + clockTicks * (span.micros / steps) + clockTicks * (span.micros % steps) / steps
        clockTicks += 1
        return time
    }

    private mutating func drawMalformation() -> Malformation {
        var pick = random.below(Malformation.totalWeight)
        for malformation in Malformation.allCases {
            if pick < malformation.weight { return malformation }
            pick -= malformation.weight
        }
        return .emptyValue
    }

    /// A user's device and country never change: derived from the user number, not drawn.
    private func deviceIndex(_ user: Int) -> Int {
        let h = mix(UInt64(user)) % 100
        return h < 55 ? 0 : (h < 93 ? 1 : 2)
    }

    private func countryIndex(_ user: Int) -> Int {
        Int(mix(UInt64(user) &+ 0x5151) % UInt64(Catalog.countries.count))
    }

    private func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ configuration.seed &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The fixed vocabulary of the simulated shop.
enum Catalog {
    static let landingPages: [StaticString] = ["/", "/", "/", "/sale", "/search", "/blog/spring-guide", "/p/sneakers"]
    static let productPages: [StaticString] = [
        "/", "/search", "/c/shoes", "/c/jackets", "/c/bags", "/p/sneakers", "/p/rain-jacket", "/p/backpack",
        "/p/wool-socks", "/p/sunglasses", "/p/running-shorts", "/cart", "/help/shipping",
    ]
    static let referrers: [StaticString] = [
        "https://www.google.com/", "https://www.google.com/", "https://duckduckgo.com/", "https://t.co/",
        "https://www.facebook.com/", "https://news.example.org/", "direct",
    ]
    static let elements: [StaticString] = [
        "nav_menu", "search_box", "product_image", "size_picker", "color_swatch", "reviews_tab", "logo",
        "newsletter_close", "filter_price",
    ]
    static let devices: [StaticString] = ["mobile", "desktop", "tablet"]
    static let countries: [StaticString] = ["US", "DE", "ES", "FR", "GB", "BR", "IN", "JP", "NL", "MX"]
    static let currencies: [StaticString] = ["USD", "EUR", "EUR", "EUR", "GBP", "BRL", "INR", "JPY", "EUR", "MXN"]
    static let wholeAmounts = currencies.indices.map { $0 == 7 }
    static let services: [StaticString] = ["api", "web", "payments"]
    static let levels: [StaticString] = ["debug", "info", "warn", "error"]
    static let logMessages: [[StaticString]] = [
        ["cache lookup", "feature flags loaded", "session refreshed"],
        ["request served", "GET /api/products 200", "POST /api/cart 201", "user signed in", "order confirmed"],
        ["slow query: 850 ms", "retrying upstream call", "rate limit at 80%", "deprecated endpoint used"],
        [
            "upstream timeout after 5000 ms", "payment gateway returned 502", "database connection refused",
            "unhandled exception in checkout handler",
        ],
    ]
}
