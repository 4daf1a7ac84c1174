import PipelineCore
import PipelineIO

/// Passes everything to the real sink, but runs `interpose` with the batch before a commit:
/// the first only, or every one (then the real commit never happens if it throws).
final class InterposedSink: EventSink {
    private let sink: PostgresEventSink
    private let everyCommit: Bool
    private let interpose: (EventBatch) throws -> Void
    private var interposed = false

    init(_ sink: PostgresEventSink, everyCommit: Bool = false, _ interpose: @escaping (EventBatch) throws -> Void) {
        self.sink = sink
        self.everyCommit = everyCommit
        self.interpose = interpose
    }

    func claimPartitions(_ partitions: [PartitionWatermarks], startFrom: StartPosition) throws -> [PartitionStart] {
        try sink.claimPartitions(partitions, startFrom: startFrom)
    }

    func storedOffsets(_ partitions: [Int32]) throws -> [Int32: Int64] { try sink.storedOffsets(partitions) }

    func reserveBatchID() throws -> Int64 { try sink.reserveBatchID() }

    func commit(_ batch: EventBatch) throws -> CommitOutcome {
        if everyCommit || !interposed {
            interposed = true
            try interpose(batch)
        }
        return try sink.commit(batch)
    }
}
