import EventContract
import Sketches

/// What a batch's declared aggregates and session windows read of each accepted event: the
/// columns of `etl.aggregate_inputs`, computed the same way, kept compact while the batch fills
/// (strings interned, hashes computed once), so that the worker can ship the batch's partial
/// aggregates (`PartialAggregates`) and session pieces (`SessionPieces`) instead of PostgreSQL
/// reading the events back.
public struct AggregateInputs {
    /// One accepted event. Dimension values index `values`; `absent` is SQL NULL.
    struct Event {
        var timeMicros: Int64
        var user: Int32
        var page: Int32
        var country: Int32
        var currency: Int32
        var service: Int32
        var level: Int32
        /// The amount of a transaction, nil for other types.
        var amount: DecimalAmount?
        /// `hll_hash_text(octet_length(user_id) || ':' || user_id || session_id)`; valid when in a session.
        var sessionHash: UInt64
        var type: EventType
        /// etl.aggregate_inputs' `steps`, plus `inSession`.
        var flags: UInt8

        static let viewed: UInt8 = 1
        static let clicked: UInt8 = 2
        static let addedToCart: UInt8 = 4
        static let paid: UInt8 = 8
        static let inSession: UInt8 = 16

        func satisfies(_ condition: AggregateDeclaration.RowCondition?) -> Bool {
            switch condition {
            case nil: true
            case .inSession: flags & Self.inSession != 0
            case .viewed: flags & Self.viewed != 0
            case .clicked: flags & Self.clicked != 0
            case .addedToCart: flags & Self.addedToCart != 0
            case .paid: flags & Self.paid != 0
            }
        }
    }

    static let absent: Int32 = -1

    private(set) var events: [Event] = []
    /// User ids (decoded UTF-8) and their hashes (`hll_hash_text(user_id)`).
    private(set) var users = InternedBytes()
    private(set) var userHashes: [UInt64] = []
    /// Dimension values (decoded UTF-8), '(none)' included.
    private(set) var values = InternedBytes()
    /// False once an amount could not be taken exactly (`DecimalAmount`): the batch is then
    /// aggregated from staging by the refresh.
    public private(set) var isExact = true

    private var scratch: [UInt8] = []
    /// The bytes a session is hashed as, rebuilt in place for each event that has one.
    private var sessionKey: [UInt8] = []
    private var noneValue: Int32 = 0

    public init() { reset() }

    public var count: Int { events.count }

    public mutating func reset() {
        events.removeAll(keepingCapacity: true)
        users.removeAll()
        userHashes.removeAll(keepingCapacity: true)
        values.removeAll()
        isExact = true
        noneValue = values.id(of: Array("(none)".utf8)).id
    }

    /// Appends an accepted event, its fields read from its message as etl.aggregate_inputs reads them.
    mutating func append(_ event: ValidatedEvent, message: UnsafeRawBufferPointer) {
        let fields = event.fields
        decode(event.userID, of: message)
        let (user, isNewUser) = users.id(of: scratch)
        if isNewUser { userHashes.append(scratch.withUnsafeBytes { MurmurHash3.hash64($0) }) }

        var flags: UInt8 = 0
        var sessionHash: UInt64 = 0
        if let session = fields.sessionID {
            flags |= Event.inSession
            // octet_length(user_id) || ':' || user_id || session_id
            sessionKey.removeAll(keepingCapacity: true)
            CopyText.appendInteger(Int64(scratch.count), to: &sessionKey)
            sessionKey.append(UInt8(ascii: ":"))
            sessionKey += scratch
            decode(session, of: message)
            sessionKey += scratch
            sessionHash = sessionKey.withUnsafeBytes { MurmurHash3.hash64($0) }
        }
        var row = Event(
            timeMicros: event.eventTimeMicros, user: user, page: Self.absent,
            country: value(fields.country, of: message), currency: Self.absent, service: Self.absent,
            level: Self.absent, amount: nil, sessionHash: sessionHash, type: event.eventType, flags: flags)
        switch event.eventType {
        case .pageView:
            row.flags |= Event.viewed
            row.page = value(fields.page, of: message)
        case .click:
            row.flags |= Event.clicked
            if let element = fields.element {
                decode(element, of: message)
                if scratch.elementsEqual("add_to_cart".utf8) { row.flags |= Event.addedToCart }
            }
        case .transaction:
            row.flags |= Event.paid
            row.currency = value(fields.currency, of: message)
            if let range = fields.amount,
                let amount = DecimalAmount(json: UnsafeRawBufferPointer(rebasing: message[range]))
            {
                row.amount = amount
            } else {
                isExact = false
            }
        case .log:
            row.service = value(fields.service, of: message)
            row.level = value(fields.level, of: message)
        }
        events.append(row)
    }

    func value(of dimension: AggregateDeclaration.Dimension, _ event: Event) -> Int32 {
        switch dimension {
        case .eventType: Int32(event.type.rawValue)
        case .page: event.page
        case .country: event.country
        case .currency: event.currency
        case .service: event.service
        case .level: event.level
        }
    }

    /// `coalesce(payload ->> name, '(none)')`.
    private mutating func value(_ slice: JSONStringSlice?, of message: UnsafeRawBufferPointer) -> Int32 {
        guard let slice else { return noneValue }
        decode(slice, of: message)
        return values.id(of: scratch).id
    }

    private mutating func decode(_ slice: JSONStringSlice, of message: UnsafeRawBufferPointer) {
        scratch.removeAll(keepingCapacity: true)
        if slice.hasEscapes {
            JSONText.appendDecoded(slice, of: message, to: &scratch)
        } else {
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: message[slice.range]))
        }
    }
}

/// Distinct byte strings numbered in order of first appearance, held flat: their bytes end to
/// end in one buffer, where each starts, and an open-addressing table of their numbers. A batch
/// interns tens of thousands of user ids; an array and a dictionary entry per string cost an
/// allocation each, and the heap they fragment outlives the batch.
struct InternedBytes {
    /// Every string's bytes, end to end.
    private var bytes: [UInt8] = []
    /// Where string `id` starts in `bytes`; one more entry than strings, the last is `bytes.count`.
    private var starts: [Int] = [0]
    /// Each string's hash, so that growing the table hashes nothing again.
    private var hashes: [UInt32] = []
    /// Open addressing with linear probing: a string's number, or `empty`. Its count is a power
    /// of two, at least twice the strings'.
    private var slots: [Int32] = Array(repeating: InternedBytes.empty, count: 16)

    private static let empty: Int32 = -1

    var count: Int { hashes.count }

    mutating func id(of bytes: [UInt8]) -> (id: Int32, isNew: Bool) {
        bytes.withUnsafeBytes { id(of: $0) }
    }

    mutating func id(of candidate: UnsafeRawBufferPointer) -> (id: Int32, isNew: Bool) {
        let hash = Self.hash(candidate)
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while true {
            let id = slots[slot]
            if id == Self.empty { break }
            if hashes[Int(id)] == hash, withBytes(of: id, { $0.elementsEqual(candidate) }) { return (id, false) }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        bytes.append(contentsOf: candidate)
        starts.append(bytes.count)
        hashes.append(hash)
        slots[slot] = id
        if count * 2 > slots.count { grow() }
        return (id, true)
    }

    /// Forgets every string, keeping the storage for the next batch.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        starts.append(0)
        hashes.removeAll(keepingCapacity: true)
        for index in slots.indices { slots[index] = Self.empty }
    }

    /// Calls `body` with string `id`'s bytes, valid only during the call.
    func withBytes<R>(of id: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let range = starts[Int(id)]..<starts[Int(id) + 1]
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    subscript(id: Int32) -> [UInt8] { withBytes(of: id) { Array($0) } }

    private mutating func grow() {
        slots = Array(repeating: Self.empty, count: slots.count * 2)
        let mask = slots.count - 1
        for (id, hash) in hashes.enumerated() {
            var slot = Int(hash) & mask
            while slots[slot] != Self.empty { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
    }

    /// FNV-1a, 32 bits: ids and dimension values are short, and the table only needs spread.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        return hash
    }
}
