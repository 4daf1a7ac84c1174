import PipelineCore

/// Messages copied out of buffers they were only borrowed from, each with an `Extra` of the
/// owner's, handed back as borrowed `IncomingMessage`s in the order appended. The keys and
/// payloads share one byte buffer, so a message costs its bytes plus one entry, and emptying
/// keeps the capacity.
struct MessageArena<Extra> {
    private struct Entry {
        var partition: Int32
        var offset: Int64
        /// Int64.min: none.
        var timestampMs: Int64
        var keyStart: Int
        /// -1: no key.
        var keyCount: Int
        var payloadStart: Int
        /// -1: a tombstone.
        var payloadCount: Int
        var extra: Extra
    }

    private var entries: [Entry] = []
    private var bytes: [UInt8] = []

    init() {}

    var count: Int { entries.count }
    /// Key and payload bytes held.
    var byteCount: Int { bytes.count }

    /// Copies `message`'s key and payload.
    mutating func append(_ message: IncomingMessage, _ extra: Extra) {
        var entry = Entry(
            partition: message.partition, offset: message.offset, timestampMs: message.timestampMs ?? Int64.min,
            keyStart: 0, keyCount: -1, payloadStart: 0, payloadCount: -1, extra: extra)
        if let key = message.key { (entry.keyStart, entry.keyCount) = copy(key) }
        if let payload = message.payload { (entry.payloadStart, entry.payloadCount) = copy(payload) }
        entries.append(entry)
    }

    private mutating func copy(_ buffer: UnsafeRawBufferPointer) -> (start: Int, count: Int) {
        let start = bytes.count
        bytes.append(contentsOf: buffer)
        return (start, buffer.count)
    }

    /// Hands the entries at `indices` to `body`, each message borrowed for the call.
    func forEach(in indices: Range<Int>, _ body: (IncomingMessage, Extra) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { arena in
            for index in indices {
                let entry = entries[index]
                try body(
                    IncomingMessage(
                        partition: entry.partition, offset: entry.offset,
                        timestampMs: entry.timestampMs == Int64.min ? nil : entry.timestampMs,
                        key: Self.slice(arena, entry.keyStart, entry.keyCount),
                        payload: Self.slice(arena, entry.payloadStart, entry.payloadCount)),
                    entry.extra)
            }
        }
    }

    private static func slice(_ arena: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: arena[start..<start + count])
    }

    /// Keeps only the entries from `start` on for which `keep` holds (their bytes stay where they
    /// are until `removeAll`).
    mutating func keep(from start: Int, where keep: (_ partition: Int32, Extra) -> Bool) {
        entries = entries[start...].filter { keep($0.partition, $0.extra) }
    }

    /// Forgets everything, keeping the capacity.
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }
}
