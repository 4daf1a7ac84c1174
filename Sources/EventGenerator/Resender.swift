/// A producer that retries, simulated. Some messages are a recent event sent
/// again: the same bytes (a duplicate), a quarter of them under another key,
/// so they land on another partition, as a producer that re-keys does. A few
/// reuse a recent event's `event_id` for new content (a conflict).
///
/// It keeps the last `capacity` valid events; the bytes depend only on the
/// seed and on the events it is shown.
public struct Resender: Sendable {
    public let duplicateRatio: Double
    public let conflictRatio: Double
    private var random: SplitMix64
    private var recentKeys: [[UInt8]] = []
    private var recentValues: [[UInt8]] = []
    private var nextSlot = 0
    private let capacity: Int

    /// Events start `{"event_id":"` (the simulator writes it first): the 36
    /// characters after it are the id.
    private static let idPrefix = Array(#"{"event_id":""#.utf8)
    private static let idLength = 36

    public init(duplicateRatio: Double, conflictRatio: Double, seed: UInt64, capacity: Int = 1024) {
        precondition((0...1).contains(duplicateRatio) && (0...1).contains(conflictRatio) && capacity > 0)
        self.duplicateRatio = duplicateRatio
        self.conflictRatio = conflictRatio
        self.random = SplitMix64(seed: seed ^ 0x5EED_D0B1_E5E7_1D5A)
        self.capacity = capacity
    }

    /// Draws whether the next message is a resend; if so, writes a recent
    /// event's bytes into `key` and `value` and returns true.
    public mutating func writeDuplicate(key: inout [UInt8], value: inout [UInt8]) -> Bool {
        guard duplicateRatio > 0, !recentValues.isEmpty, random.chance(duplicateRatio) else { return false }
        let slot = random.below(recentValues.count)
        key = recentKeys[slot]
        value = recentValues[slot]
        if random.chance(0.25) { key.append(contentsOf: "#rekeyed".utf8) }
        return true
    }

    /// Shown each fresh valid event: either remembers it, or (at the conflict
    /// ratio) gives it a recent event's `event_id` and returns true.
    public mutating func conflictOrRemember(key: [UInt8], value: inout [UInt8]) -> Bool {
        guard value.count >= Self.idPrefix.count + Self.idLength, value.starts(with: Self.idPrefix) else {
            return false
        }
        let idRange = Self.idPrefix.count..<(Self.idPrefix.count + Self.idLength)
        if conflictRatio > 0, !recentValues.isEmpty, random.chance(conflictRatio) {
            let donor = recentValues[random.below(recentValues.count)]
            value.replaceSubrange(idRange, with: donor[idRange])
            return true
        }
        if recentValues.count < capacity {
            recentKeys.append(key)
            recentValues.append(value)
        } else {
            recentKeys[nextSlot] = key
            recentValues[nextSlot] = value
            nextSlot = (nextSlot + 1) % capacity
        }
        return false
    }
}
