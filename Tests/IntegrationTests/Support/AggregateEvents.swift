import EventGenerator
import Foundation

/// A valid event with a chosen event time, for the aggregate tests: the
/// expected aggregates are computed from these in Swift, not by SQL.
struct AggregateEvent {
    var id: String
    var type: String
    /// Event time, milliseconds since the Unix epoch (UTC).
    var timeMs: Int64
    var user: String
    var session: String
    var page: String? = nil
    var country: String? = nil
    var element: String? = nil
    var amountCents: Int? = nil
    var currency: String? = nil
    var level: String? = nil
    var service: String? = nil
    /// Written with this UTC offset (minutes): the instant, and so the bucket, must not change.
    var offsetMinutes: Int = 0

    var json: String {
        var fields = [
            #""event_id":"\#(id)""#, #""event_type":"\#(type)""#,
            #""event_time":"\#(Self.rfc3339(timeMs, offsetMinutes: offsetMinutes))""#,
            #""user_id":"\#(user)""#, #""session_id":"\#(session)""#,
        ]
        if let page { fields.append(#""page":"\#(page)""#) }
        if let country { fields.append(#""country":"\#(country)""#) }
        if let element { fields.append(#""element":"\#(element)""#) }
        if let amountCents {
            fields.append(#""amount":\#(amountCents / 100).\#(String(format: "%02d", amountCents % 100))"#)
            fields.append(#""order_id":"o-\#(id.prefix(8))""#)
        }
        if let currency { fields.append(#""currency":"\#(currency)""#) }
        if let level { fields.append(#""level":"\#(level)","message":"m""#) }
        if let service { fields.append(#""service":"\#(service)""#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    var message: EventFactory.Message {
        EventFactory.Message(key: Array(user.utf8), value: Array(json.utf8), expectedReason: nil, eventID: id)
    }

    /// Start of the event's tumbling 1-minute window, seconds since the epoch.
    var minuteBucket: Int64 { timeMs / 60_000 * 60 }

    /// RFC 3339 with milliseconds, written in the given UTC offset.
    static func rfc3339(_ ms: Int64, offsetMinutes: Int = 0) -> String {
        let local = ms + Int64(offsetMinutes) * 60_000
        let days = local / 86_400_000
        let msOfDay = local % 86_400_000
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let zone =
            offsetMinutes == 0
            ? "Z"
            : String(
                format: "%@%02d:%02d", offsetMinutes < 0 ? "-" : "+", abs(offsetMinutes) / 60, abs(offsetMinutes) % 60)
        return String(
            format: "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lld", year, month, day, msOfDay / 3_600_000,
            msOfDay / 60_000 % 60, msOfDay / 1000 % 60, msOfDay % 1000) + zone
    }

    /// Milliseconds since the epoch of a UTC date and time.
    static func epochMs(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Int64 {
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour, components.minute) =
            (year, month, day, hour, minute)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return Int64(calendar.date(from: components)!.timeIntervalSince1970) * 1000
    }
}

/// Seeded streams of events of every type, at random times in a range.
struct AggregateEventStream {
    private var generator: SplitMix64
    private var serial = 0

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    /// `count` events with times uniform in [fromMs, toMs), in random order.
    mutating func events(count: Int, fromMs: Int64, toMs: Int64, users: Int = 40) -> [AggregateEvent] {
        (0..<count).map { _ in
            event(timeMs: Int64.random(in: fromMs..<toMs, using: &generator), users: users)
        }
    }

    /// The events in a random (seeded) order.
    mutating func shuffle(_ events: [AggregateEvent]) -> [AggregateEvent] { events.shuffled(using: &generator) }

    mutating func event(timeMs: Int64, users: Int = 40) -> AggregateEvent {
        serial += 1
        let user = "user-\(Int.random(in: 0..<users, using: &generator))"
        var event = AggregateEvent(
            id: uuid(), type: "page_view", timeMs: timeMs, user: user,
            session: "s-\(Int.random(in: 0..<3, using: &generator))",
            offsetMinutes: [0, 0, 0, 330, -480][Int.random(in: 0..<5, using: &generator)])
        switch Int.random(in: 0..<10, using: &generator) {
        case 0..<4:
            event.page = "/p/\(Int.random(in: 0..<5, using: &generator))"
            event.country = ["ES", "DE", "US"][Int.random(in: 0..<3, using: &generator)]
        case 4..<6:
            event.type = "click"
            event.element = Bool.random(using: &generator) ? "add_to_cart" : "buy"
        case 6..<8:
            event.type = "log"
            event.level = ["info", "warn", "error"][Int.random(in: 0..<3, using: &generator)]
            event.service = ["api", "web"][Int.random(in: 0..<2, using: &generator)]
        default:
            event.type = "transaction"
            event.amountCents = Int.random(in: 0..<100_000, using: &generator)
            event.currency = ["EUR", "USD", "JPY"][Int.random(in: 0..<3, using: &generator)]
        }
        return event
    }

    private mutating func uuid() -> String {
        let hex = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let c = Array(hex)
        return
            "\(String(c[0..<8]))-\(String(c[8..<12]))-4\(String(c[13..<16]))-a\(String(c[17..<20]))-\(String(c[20..<32]))"
    }
}

/// The aggregates, computed in Swift from the produced events.
enum ExpectedAggregates {
    struct Key: Hashable, CustomStringConvertible {
        var bucket: Int64
        var name: String
        var description: String { "\(AggregateEvent.rfc3339(bucket * 1000)) \(name)" }
    }
    struct Counts: Equatable, CustomStringConvertible {
        var count: Int
        var second: Int
        var description: String { "(\(count), \(second))" }
    }

    /// (minute, event_type) -> (events, distinct users).
    static func eventsPerMinute(_ events: [AggregateEvent]) -> [Key: Counts] { Self.events(per: 60, events) }

    /// (tumbling window of `seconds`, event_type) -> (events, distinct users). Windows start at
    /// multiples of `seconds` since the epoch (for 300 and 3600 the same as date_bin from 2000-01-01 and
    /// date_trunc('hour')).
    static func events(per seconds: Int64, _ events: [AggregateEvent]) -> [Key: Counts] {
        var users: [Key: Set<String>] = [:]
        var counts: [Key: Int] = [:]
        for event in events {
            let key = Key(bucket: event.timeMs / (seconds * 1000) * seconds, name: event.type)
            counts[key, default: 0] += 1
            users[key, default: []].insert(event.user)
        }
        return counts.reduce(into: [:]) { result, entry in
            result[entry.key] = Counts(count: entry.value, second: users[entry.key]!.count)
        }
    }

    /// (bucket, currency) -> (transactions, revenue in cents).
    static func revenuePerMinute(_ events: [AggregateEvent]) -> [Key: Counts] {
        var result: [Key: Counts] = [:]
        for event in events where event.type == "transaction" {
            let key = Key(bucket: event.minuteBucket, name: event.currency!)
            result[key, default: Counts(count: 0, second: 0)].count += 1
            result[key]!.second += event.amountCents!
        }
        return result
    }

    /// (hour, step) -> (sessions that reached the step within that hour, 0), for the steps
    /// "sessions" (any event), "viewed" (a page view), "clicked" (a click), "added_to_cart" (a
    /// click on add_to_cart) and "paid" (a transaction); a session is (user, session id). Steps
    /// no session reached are left out.
    static func funnelPerHour(_ events: [AggregateEvent]) -> [Key: Counts] {
        var reached: [Key: Set<String>] = [:]
        for event in events {
            let hour = event.timeMs / 3_600_000 * 3600
            var steps = ["sessions"]
            switch event.type {
            case "page_view": steps.append("viewed")
            case "click": steps += event.element == "add_to_cart" ? ["clicked", "added_to_cart"] : ["clicked"]
            case "transaction": steps.append("paid")
            default: break
            }
            for step in steps {
                reached[Key(bucket: hour, name: step), default: []].insert(event.user + "/" + event.session)
            }
        }
        return reached.mapValues { Counts(count: $0.count, second: 0) }
    }

    /// (user, session start ms) -> (events, last event ms): a new session after
    /// 30 minutes or more without events.
    static func userSessions(_ events: [AggregateEvent]) -> [Key: Counts] {
        var result: [Key: Counts] = [:]
        for (user, mine) in Dictionary(grouping: events, by: \.user) {
            var start: Int64 = 0
            var last: Int64 = .min
            var count = 0
            for time in mine.map(\.timeMs).sorted() {
                if count > 0 && time - last >= 30 * 60_000 {
                    result[Key(bucket: start, name: user)] = Counts(count: count, second: Int(last))
                    count = 0
                }
                if count == 0 { start = time }
                count += 1
                last = time
            }
            result[Key(bucket: start, name: user)] = Counts(count: count, second: Int(last))
        }
        return result
    }
}
