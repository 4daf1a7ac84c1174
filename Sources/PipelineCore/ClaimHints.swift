import EventContract

/// What the worker knows, before a cycle's lanes commit, of the copies in one lane's batch: the
/// events whose id another batch of its own carries. The sink claims none of them and judges
/// them as copies, instead of finding them by asking PostgreSQL about every id of the batch
/// (PostgresEventSink+Claims).
///
/// Why: with producer retries nearly every batch holds a copy. A copy of an event in the other
/// lane's batch of the same cycle made the lanes take turns (the claim COPY waited for the other
/// lane's uncommitted claim of the id, then failed and started again), and every batch asked
/// PostgreSQL about all its ids. With 5 % copies a million messages loaded in 16.7 s over two
/// lanes, 14.1 s over one, against 9.3 s without copies (BENCHMARKS.md, "Fourteenth session").
public struct ClaimHints: Sendable, Equatable {
    /// Events whose id a batch this worker committed in one of its last cycles carried: claimed.
    public var copiesOfCommitted: Set<Int> = []
    /// Events whose id an earlier lane's batch of this cycle carries: that batch's record claims
    /// the id, and these are judged once its transaction has ended.
    public var copiesOfEarlierLanes: Set<Int> = []
    /// The earlier lanes' batches those copies wait for.
    public var awaitedBatches: [Int64] = []
    /// A later lane's batch waits for this batch's transaction to end.
    public var awaitedByLaterLanes = false

    public init() {}

    public var isEmpty: Bool { self == ClaimHints() }
}

/// The ids of the batches this worker committed in its last cycles, and the hints each new
/// cycle's batches get from them and from one another. A hint is never trusted blindly: a copy
/// whose claimer is not there when the sink judges it (an earlier lane's batch that did not
/// commit, or a false match of the 64 bits kept per id, about one in 2^64) fails the batch's
/// attempt, and its retry asks PostgreSQL instead.
///
/// Only while copies are about (one was loaded in the last `cyclesHintedAfterACopy` cycles): a
/// stream without them pays nothing, and its first copies take the sink's way without hints.
/// The ids are kept as sorted arrays of 64-bit keys and matched by merging sorted lists: 8 bytes
/// an id (a `Set` took three times that, and the worker's peak memory over its 150 MB goal).
public struct RecentClaims {
    /// Cycles remembered. A producer's retry follows its first send within seconds, but while a
    /// worker catches up its partitions' positions drift apart by several cycles (with two
    /// cycles remembered, one copy in ten of a bulk load was not hinted).
    public static let cyclesKept = 8
    public static let cyclesHintedAfterACopy = 16
    private var cyclesSinceACopy = cyclesHintedAfterACopy
    /// The sorted keys of each batch committed in the last `cyclesKept` cycles, oldest cycle first.
    private var committed: [[[UInt64]]] = []
    /// The sorted keys of this cycle's batches, in lane order, from `hints` until `cycleEnded`.
    private var inFlight: [(batchID: Int64, keys: [UInt64])] = []

    public init() {}

    /// 64 of an id's 128 bits (both words folded): UUIDs are random in either word (v4), or in
    /// the low one (v7: the high one starts with a timestamp).
    @inline(__always)
    static func key(_ id: UUIDBytes) -> UInt64 { id.high ^ id.low }

    /// The hints of the batches about to commit together, given in lane order: a record whose
    /// id a recently committed batch carried is a copy of it; else one whose id an earlier
    /// lane's batch carries is a copy of that record, judged after that batch's transaction.
    public mutating func hints(for batches: [EventBatch]) -> [ClaimHints] {
        inFlight = []
        var all = batches.map { _ in ClaimHints() }
        guard cyclesSinceACopy < Self.cyclesHintedAfterACopy else { return all }
        for (index, batch) in batches.enumerated() {
            let keyed = Self.sortedKeys(of: batch)
            for cycle in committed {
                for keys in cycle { Self.forEachMatch(of: keyed, in: keys) { all[index].copiesOfCommitted.insert($0) } }
            }
            for (earlier, flight) in inFlight.enumerated() {
                Self.forEachMatch(of: keyed, in: flight.keys) { position in
                    guard !all[index].copiesOfCommitted.contains(position),
                        all[index].copiesOfEarlierLanes.insert(position).inserted
                    else { return }
                    if !all[index].awaitedBatches.contains(flight.batchID) {
                        all[index].awaitedBatches.append(flight.batchID)
                        all[earlier].awaitedByLaterLanes = true
                    }
                }
            }
            inFlight.append((batch.batchID, keyed.map(\.key)))
        }
        return all
    }

    /// Remembers the ids of the cycle's batches that committed with no row refused (a refused
    /// row's id may be claimed by nothing), forgetting the oldest cycle; `copiesLoaded`: a
    /// committed batch held a copy.
    public mutating func cycleEnded(committed batches: [EventBatch], copiesLoaded: Bool) {
        cyclesSinceACopy = copiesLoaded ? 0 : min(cyclesSinceACopy + 1, Self.cyclesHintedAfterACopy)
        defer { inFlight = [] }
        guard cyclesSinceACopy < Self.cyclesHintedAfterACopy else {
            committed = []
            return
        }
        let ids = Set(batches.map(\.batchID))
        // The first copies came in a cycle without hints: its ids are remembered now.
        let keys =
            inFlight.isEmpty
            ? batches.map { Self.sortedKeys(of: $0).map(\.key) }
            : inFlight.filter { ids.contains($0.batchID) }.map(\.keys)
        committed.append(keys)
        if committed.count > Self.cyclesKept { committed.removeFirst() }
    }

    /// The batch's claims' keys with their positions, sorted by key.
    private static func sortedKeys(of batch: EventBatch) -> [(key: UInt64, position: Int)] {
        var keyed = batch.claims.enumerated().map { (key: key($0.element.eventID), position: $0.offset) }
        keyed.sort { $0.key < $1.key }
        return keyed
    }

    /// Calls `found` with the position of each of `keyed`'s keys that `keys` holds (both sorted).
    private static func forEachMatch(
        of keyed: [(key: UInt64, position: Int)], in keys: [UInt64], _ found: (Int) -> Void
    ) {
        var next = 0
        for (key, position) in keyed {
            while next < keys.count, keys[next] < key { next += 1 }
            if next < keys.count, keys[next] == key { found(position) }
        }
    }
}
