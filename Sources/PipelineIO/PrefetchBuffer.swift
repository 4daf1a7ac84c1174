import PipelineCore
import RdKafka

/// Messages and events taken from librdkafka ahead of the worker's poll, while its batches
/// commit (`KafkaEventSource.prefetch`), copied out so that librdkafka's own queue stays short.
///
/// Why (issue 13, BENCHMARKS.md "Eighth session"): librdkafka stops fetching a partition while its
/// queue holds `queued.max.messages.kbytes`, and a worker that leaves that queue full while it
/// commits can load at most one queue's worth each time librdkafka fetches again (FetchNudger).
/// Here a message costs its bytes plus a 64-byte entry (MessageArena); in librdkafka's queue,
/// about three times its bytes. Neither this buffer nor the nudge helps alone: together they took
/// the fetch limit off the load.
///
/// Replayed in the order taken, so the worker sees exactly what a later poll would have shown.
struct PrefetchBuffer {
    private enum Kind: UInt8 {
        case message, endOfPartition, positionOutOfRange, error
    }

    /// What each entry is; a client error's index in `errors`.
    private struct Item {
        var kind: Kind
        var error: Int32 = -1
    }

    /// Key and payload bytes held before `hasRoom` turns false.
    let byteLimit: Int
    private var taken = MessageArena<Item>()
    /// The client errors among the entries (rare: kept apart from them).
    private var errors: [KafkaError] = []
    /// The first entry not yet replayed.
    private var next = 0

    init(byteLimit: Int) {
        self.byteLimit = byteLimit
    }

    var isEmpty: Bool { next == taken.count }
    var hasRoom: Bool { taken.byteCount < byteLimit }

    /// Copies a message or event out of librdkafka's buffers.
    mutating func append(_ view: RDKafkaMessageView) {
        let noBytes = IncomingMessage(
            partition: view.partition, offset: view.offset, timestampMs: nil, key: nil, payload: nil)
        switch view.sourceEvent {
        case .message(let message):
            taken.append(message, Item(kind: .message))
        case .endOfPartition:
            taken.append(noBytes, Item(kind: .endOfPartition))
        case .positionOutOfRange:
            taken.append(noBytes, Item(kind: .positionOutOfRange))
        case nil:
            errors.append(view.error())
            taken.append(noBytes, Item(kind: .error, error: Int32(errors.count - 1)))
        }
    }

    /// Hands up to `maxCount` entries to `body` in the order taken, messages borrowed as from a
    /// poll, client errors to `error`; returns how many. Once all are replayed the buffer is
    /// emptied, keeping its capacity.
    mutating func replay(maxCount: Int, error: (KafkaError) -> Void, _ body: (SourceEvent) -> Void) -> Int {
        let range = next..<min(taken.count, next + maxCount)
        taken.forEach(in: range) { message, item in
            switch item.kind {
            case .message: body(.message(message))
            case .endOfPartition: body(.endOfPartition(partition: message.partition, offset: message.offset))
            case .positionOutOfRange: body(.positionOutOfRange(partition: message.partition))
            case .error: error(errors[Int(item.error)])
            }
        }
        next = range.upperBound
        if isEmpty { removeAll() }
        return range.count
    }

    /// Forgets what was taken from `partition` and not yet replayed (its fetch position moved).
    mutating func drop(partition: Int32) {
        taken.keep(from: next) { entryPartition, _ in entryPartition != partition }
        next = 0
        if isEmpty { removeAll() }
    }

    /// Forgets everything, keeping the capacity.
    mutating func removeAll() {
        taken.removeAll()
        errors.removeAll()
        next = 0
    }
}
