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
/// stream without them pays nothing (building the sets costs the worker thread about 2 % of its
/// time), and its first copies take the sink's way without hints.
struct RecentClaims {
    /// Cycles remembered: a producer's retry follows its first send within seconds.
    static let cyclesKept = 2
    static let cyclesHintedAfterACopy = 16
    private var cyclesSinceACopy = Int.max
    /// Each committed batch's ids of the last `cyclesKept` cycles, newest last.
    private var committed: [[Set<UInt64>]] = []
    /// This cycle's batches' ids, in lane order, from `hint` until `cycleEnded`.
    private var inFlight: [(lane: Int, ids: Set<UInt64>)] = []

    /// 64 of an id's 128 bits (both words folded): UUIDs are random in either word (v4), or in
    /// the low one (v7: the high one starts with a timestamp).
    @inline(__always)
    static func key(_ id: UUIDBytes) -> UInt64 { id.high ^ id.low }

    /// Sets the hints of the batches about to commit together, in lane order: a record whose id
    /// a recently committed batch carried is a copy of it; else one whose id an earlier lane's
    /// batch carries is a copy of that record, judged after that batch's transaction ends.
    mutating func hint(_ lanes: [Lane]) {
        inFlight = []
        guard cyclesSinceACopy < Self.cyclesHintedAfterACopy else { return }
        for lane in lanes {
            var hints = ClaimHints()
            let claims = lane.batch.claims
            var ids = Set<UInt64>(minimumCapacity: claims.count)
            var awaited: Set<Int> = []
            for (position, claim) in claims.enumerated() {
                let key = Self.key(claim.eventID)
                ids.insert(key)
                if committed.contains(where: { cycle in cycle.contains { $0.contains(key) } }) {
                    hints.copiesOfCommitted.insert(position)
                } else if let earlier = inFlight.first(where: { $0.ids.contains(key) })?.lane {
                    hints.copiesOfEarlierLanes.insert(position)
                    awaited.insert(earlier)
                }
            }
            for index in awaited.sorted() {
                guard let awaitedLane = lanes.first(where: { $0.index == index }) else { continue }
                awaitedLane.batch.claimHints.awaitedByLaterLanes = true
                hints.awaitedBatches.append(awaitedLane.batch.batchID)
            }
            lane.batch.claimHints = hints
            inFlight.append((lane.index, ids))
        }
    }

    /// Remembers the ids of the cycle's batches that committed with no row refused (a refused
    /// row's id may be claimed by nothing), forgetting the oldest cycle; `copiesLoaded`: a
    /// committed batch held a copy.
    mutating func cycleEnded(committedLanes: [Int], copiesLoaded: Bool) {
        cyclesSinceACopy = copiesLoaded ? 0 : cyclesSinceACopy &+ 1
        committed.append(inFlight.filter { committedLanes.contains($0.lane) }.map(\.ids))
        if committed.count > Self.cyclesKept { committed.removeFirst() }
        inFlight = []
    }
}
