import CoreMetrics
import PipelineCore

/// Turns what the worker reports into metrics and readiness. Runs on the worker's
/// thread, like every observer; the handles it updates are thread-safe, the caches
/// it keeps here are touched by that thread only.
public final class MetricsObserver: CommitObserver {
    private let metrics: PipelineMetrics
    private let readiness: Readiness?
    private var rejected: [String: CoreMetrics.Counter] = [:]
    private var lag: [Int32: Meter] = [:]
    private var lastCommit: Meter?

    public init(metrics: PipelineMetrics, readiness: Readiness? = nil) {
        self.metrics = metrics
        self.readiness = readiness
    }

    public func batchCommitted(_ batch: EventBatch, _ commit: CommitSummary) {
        metrics.batchEnded(.committed)
        metrics.eventsIngested.increment(by: Int64(commit.newEvents(in: batch)))
        metrics.eventsDuplicate.increment(by: Int64(commit.duplicates))
        if commit.conflicts > 0 { rejectedCounter("event_id_conflict").increment(by: Int64(commit.conflicts)) }
        metrics.bytesIngested.increment(by: Int64(batch.bytes))
        for (reason, count) in batch.rejectedByReason { rejectedCounter(reason).increment(by: Int64(count)) }
        if commit.refusedRows > 0 {
            rejectedCounter(EventBatch.databaseRejectedReason).increment(by: Int64(commit.refusedRows))
        }
        metrics.batchDuration.recordNanoseconds(commit.commitDurationMicros * 1000)
        // One sample per message: the histogram is the latency distribution of messages, not of batches.
        let commitMs = commit.committedAtMicros / 1000
        for timestampMs in batch.kafkaTimestampsMs {
            metrics.ingestLatency.recordNanoseconds(max(0, commitMs - timestampMs) * 1_000_000)
        }
        if lastCommit == nil { lastCommit = metrics.lastCommitGauge() }
        lastCommit?.set(Double(commit.committedAtMicros) / 1_000_000)
    }

    public func batchNotCommitted(_ batch: EventBatch, _ outcome: BatchOutcome) {
        metrics.batchEnded(outcome)
    }

    public func assignmentChanged(_ partitions: [Int32]) {
        metrics.partitionsAssigned.set(Int64(partitions.count))
        readiness?.partitionsAssigned(partitions.count)
        // Another worker reports the partitions we lost: a stale series here would count them twice.
        let owned = Set(partitions)
        for (partition, gauge) in lag where !owned.contains(partition) {
            gauge.destroy()
            lag[partition] = nil
        }
    }

    public func gapRecorded(partition: Int32, lost: ClosedRange<Int64>) {
        metrics.gaps.increment()
    }

    public func operationRetrying(_ operation: RetriedOperation, error: any Error) {
        metrics.retried(operation)
    }

    public func lagMeasured(_ lags: [PartitionLag]) {
        for entry in lags {
            if lag[entry.partition] == nil { lag[entry.partition] = metrics.lagGauge(partition: entry.partition) }
            lag[entry.partition]?.set(entry.messages)
        }
    }

    private func rejectedCounter(_ reason: String) -> CoreMetrics.Counter {
        if let counter = rejected[reason] { return counter }
        let counter = metrics.rejectedCounter(reason: reason)
        rejected[reason] = counter
        return counter
    }
}
