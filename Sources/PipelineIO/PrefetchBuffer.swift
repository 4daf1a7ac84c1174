import PipelineCore
import RdKafka

/// Messages and events taken from librdkafka ahead of the worker's poll, while its batches
/// commit (`KafkaEventSource.prefetch`), copied out so that librdkafka's own queue stays short.
///
/// Why (issue 13, BENCHMARKS.md "Eighth session"): librdkafka stops fetching a partition while its
/// queue holds `queued.max.messages.kbytes`, and a worker that leaves that queue full while it
/// commits can load at most one queue's worth each time librdkafka fetches again (FetchNudger).
/// Here a message costs its bytes plus a 56-byte entry; in librdkafka's queue, about three times
/// its bytes. Neither this buffer nor the nudge helps alone: together they took the fetch limit
/// off the load.
///
/// Replayed in the order taken, so the worker sees exactly what a later poll would have shown.
struct PrefetchBuffer {
    private enum Kind: UInt8 {
        case message, endOfPartition, positionOutOfRange, error
    }

    /// One message or event; a message's key and payload are ranges of `bytes`.
    private struct Entry {
        var kind: Kind
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
    }

    /// Key and payload bytes held before `hasRoom` turns false.
    let byteLimit: Int
    private var entries: [Entry] = []
    private var bytes: [UInt8] = []
    /// The client errors among the entries, by entry index (rare: kept apart from the entries).
    private var errors: [Int: KafkaError] = [:]
    /// The first entry not yet replayed.
    private var next = 0

    init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    var isEmpty: Bool { next == entries.count }
    var hasRoom: Bool { bytes.count < byteLimit }

    /// Copies a message or event out of librdkafka's buffers.
    mutating func append(_ view: RDKafkaMessageView) {
        var entry = Entry(
            kind: .message, partition: view.partition, offset: view.offset, timestampMs: Int64.min, keyStart: 0,
            keyCount: -1, payloadStart: 0, payloadCount: -1)
        switch view.sourceEvent {
        case .message(let message):
            entry.timestampMs = message.timestampMs ?? Int64.min
            if let key = message.key { (entry.keyStart, entry.keyCount) = copy(key) }
            if let payload = message.payload { (entry.payloadStart, entry.payloadCount) = copy(payload) }
        case .endOfPartition(_, let offset):
            entry.kind = .endOfPartition
            entry.offset = offset
        case .positionOutOfRange:
            entry.kind = .positionOutOfRange
        case nil:
            entry.kind = .error
            errors[entries.count] = view.error()
        }
        entries.append(entry)
    }

    private mutating func copy(_ buffer: UnsafeRawBufferPointer) -> (start: Int, count: Int) {
        let start = bytes.count
        bytes.append(contentsOf: buffer)
        return (start, buffer.count)
    }

    /// Hands up to `maxCount` entries to `body` in the order taken, messages borrowed as from a
    /// poll, client errors to `error`; returns how many. Once all are replayed the buffer is
    /// emptied, keeping its capacity.
    mutating func replay(maxCount: Int, error: (KafkaError) -> Void, _ body: (SourceEvent) -> Void) -> Int {
        let end = min(entries.count, next + maxCount)
        let start = next
        bytes.withUnsafeBytes { arena in
            for index in start..<end {
                let entry = entries[index]
                switch entry.kind {
                case .message:
                    body(
                        .message(
                            IncomingMessage(
                                partition: entry.partition, offset: entry.offset,
                                timestampMs: entry.timestampMs == Int64.min ? nil : entry.timestampMs,
                                key: Self.slice(arena, entry.keyStart, entry.keyCount),
                                payload: Self.slice(arena, entry.payloadStart, entry.payloadCount))))
                case .endOfPartition:
                    body(.endOfPartition(partition: entry.partition, offset: entry.offset))
                case .positionOutOfRange:
                    body(.positionOutOfRange(partition: entry.partition))
                case .error:
                    if let kafkaError = errors[index] { error(kafkaError) }
                }
            }
        }
        next = end
        if isEmpty { removeAll() }
        return end - start
    }

    private static func slice(_ arena: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: arena[start..<start + count])
    }

    /// Forgets what was taken from `partition` and not yet replayed (its fetch position moved).
    mutating func drop(partition: Int32) {
        var kept: [Entry] = []
        var keptErrors: [Int: KafkaError] = [:]
        for index in next..<entries.count where entries[index].partition != partition {
            if let kafkaError = errors[index] { keptErrors[kept.count] = kafkaError }
            kept.append(entries[index])
        }
        entries = kept
        errors = keptErrors
        next = 0
        if isEmpty { removeAll() }
    }

    /// Forgets everything, keeping the capacity.
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
        errors.removeAll()
        next = 0
    }
}
