import EventContract
@testable import PipelineCore
import Testing

@testable import PipelineTelemetry

/// What the worker reports, turned into the exposition a scrape reads.
@Suite("metrics from the worker's reports")
struct MetricsObserverTests {
    /// 2025-11-24T16:00:00Z.
    static let nowMicros: Int64 = 1_764_000_000_000_000

    /// A batch of `valid` events and the given invalid payloads, Kafka timestamps 2 s before `nowMicros`.
    static func batch(valid: Int, invalid: [String]) -> EventBatch {
        var batch = EventBatch(topic: "events")
        batch.reset(batchID: 7, startedAtMicros: nowMicros)
        let payloads =
            (0..<valid).map { index in
                #"{"event_id":"7b0c1c3e-3f5d-4c1e-9a57-0f6f2f8e2b1\#(index % 10)","event_type":"page_view","event_time":"2025-11-24T15:59:00Z","user_id":"u\#(index)"}"#
            } + invalid
        for (offset, payload) in payloads.enumerated() {
            Array(payload.utf8).withUnsafeBytes { bytes in
                batch.add(
                    IncomingMessage(
                        partition: Int32(offset % 2), offset: Int64(offset), timestampMs: nowMicros / 1000 - 2000,
                        key: nil, payload: bytes),
                    expectedNextOffset: 0, validator: EventValidator(), nowMicros: nowMicros)
            }
        }
        return batch
    }

    @Test("a committed batch: events, rejections by reason, refused rows, duplicates, bytes, latency per message")
    func committed() {
        let metrics = PipelineMetrics()
        let observer = MetricsObserver(metrics: metrics)
        let batch = Self.batch(valid: 5, invalid: ["[1]", "not json", "{}"])
        var commit = CommitSummary(refusedRows: 1, duplicates: 2, conflicts: 1)
        commit.committedAtMicros = Self.nowMicros
        commit.commitDurationMicros = 30_000
        observer.batchCommitted(batch, commit)

        let text = Exposition(metrics.exposition())
        #expect(text["pipeline_events_ingested_total"] == 1, "5 accepted: 1 refused, 2 duplicates, 1 conflict")
        #expect(text[#"pipeline_events_rejected_total{reason="not_object"}"#] == 1)
        #expect(text[#"pipeline_events_rejected_total{reason="invalid_json"}"#] == 1)
        #expect(text[#"pipeline_events_rejected_total{reason="missing_field"}"#] == 1)
        #expect(text[#"pipeline_events_rejected_total{reason="db_rejected"}"#] == 1)
        #expect(text[#"pipeline_events_rejected_total{reason="event_id_conflict"}"#] == 1)
        #expect(text["pipeline_events_duplicate_total"] == 2)
        #expect(text["pipeline_bytes_ingested_total"] == Double(batch.bytes))
        #expect(text[#"pipeline_batches_total{outcome="committed"}"#] == 1)
        #expect(text[#"pipeline_batches_total{outcome="fenced"}"#] == 0)
        #expect(text["pipeline_ingest_latency_seconds_count"] == 8, "one sample per message")
        #expect(text["pipeline_ingest_latency_seconds_sum"] == 16)
        #expect(text[#"pipeline_ingest_latency_seconds_bucket{le="1.0"}"#] == 0)
        #expect(text[#"pipeline_ingest_latency_seconds_bucket{le="2.0"}"#] == 8)
        #expect(text["pipeline_batch_duration_seconds_count"] == 1)
        #expect(text["pipeline_batch_duration_seconds_sum"] == 0.03)
        #expect(text["pipeline_last_commit_timestamp_seconds"] == 1_764_000_000)
    }

    @Test("before anything happens: every unlabelled series and every outcome and operation at 0, no last commit")
    func initial() {
        let text = Exposition(PipelineMetrics().exposition())
        for name in [
            "pipeline_events_ingested_total", "pipeline_events_duplicate_total", "pipeline_bytes_ingested_total",
            "pipeline_gaps_total", "pipeline_partitions_assigned", "pipeline_batch_duration_seconds_count",
            "pipeline_ingest_latency_seconds_count",
        ] {
            #expect(text[name] == 0, "\(name)")
        }
        for outcome in BatchOutcome.allCases {
            #expect(text["pipeline_batches_total{outcome=\"\(outcome.rawValue)\"}"] == 0)
        }
        for operation in RetriedOperation.allCases {
            #expect(text["pipeline_db_retries_total{operation=\"\(operation.rawValue)\"}"] == 0)
        }
        #expect(text["pipeline_last_commit_timestamp_seconds"] == nil)
        #expect(!text.raw.contains("pipeline_consumer_lag{"))
    }

    @Test("every family has HELP and TYPE lines, and every catalog entry is exported once something happened")
    func helpAndType() {
        let metrics = PipelineMetrics()
        let observer = MetricsObserver(metrics: metrics)
        var commit = CommitSummary()
        commit.committedAtMicros = Self.nowMicros
        observer.batchCommitted(Self.batch(valid: 1, invalid: ["[]"]), commit)
        observer.lagMeasured([PartitionLag(partition: 0, messages: 3)])
        let text = Exposition(metrics.exposition())
        for entry in MetricCatalog.all {
            #expect(text.raw.contains("# HELP \(entry.name) \(entry.help)\n"), "\(entry.name)")
            #expect(text.raw.contains("# TYPE \(entry.name) "), "\(entry.name)")
        }
    }

    @Test("fenced and dropped batches, gaps, retries, assignment and lag; a revoked partition's lag series goes")
    func otherReports() {
        let metrics = PipelineMetrics()
        let readiness = Readiness(staleAfterMs: 10_000)
        let observer = MetricsObserver(metrics: metrics, readiness: readiness)
        let batch = Self.batch(valid: 2, invalid: [])
        observer.batchNotCommitted(batch, .fenced)
        observer.batchNotCommitted(batch, .dropped)
        observer.batchNotCommitted(batch, .dropped)
        observer.gapRecorded(partition: 1, lost: 10...19)
        observer.operationRetrying(.commitBatch, error: TestError())
        observer.operationRetrying(.commitBatch, error: TestError())
        observer.operationRetrying(.claimPartitions, error: TestError())
        observer.assignmentChanged([0, 1, 2])
        observer.lagMeasured([
            PartitionLag(partition: 0, messages: 5), PartitionLag(partition: 1, messages: 0),
            PartitionLag(partition: 2, messages: 12),
        ])
        var text = Exposition(metrics.exposition())
        #expect(text[#"pipeline_batches_total{outcome="fenced"}"#] == 1)
        #expect(text[#"pipeline_batches_total{outcome="dropped"}"#] == 2)
        #expect(text["pipeline_events_ingested_total"] == 0, "nothing of an uncommitted batch counts")
        #expect(text["pipeline_gaps_total"] == 1)
        #expect(text[#"pipeline_db_retries_total{operation="commit_batch"}"#] == 2)
        #expect(text[#"pipeline_db_retries_total{operation="claim_partitions"}"#] == 1)
        #expect(text["pipeline_partitions_assigned"] == 3)
        #expect(text[#"pipeline_consumer_lag{partition="2"}"#] == 12)

        observer.assignmentChanged([0])
        text = Exposition(metrics.exposition())
        #expect(text["pipeline_partitions_assigned"] == 1)
        #expect(text[#"pipeline_consumer_lag{partition="0"}"#] == 5)
        #expect(text[#"pipeline_consumer_lag{partition="2"}"#] == nil, "another worker reports it now")
    }
}

struct TestError: Error {}

/// The exposition text, by series as written (`name{label="v"}`).
struct Exposition {
    let raw: String
    private var values: [String: Double] = [:]

    init(_ bytes: [UInt8]) {
        raw = String(decoding: bytes, as: UTF8.self)
        for line in raw.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            values[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
    }

    subscript(_ series: String) -> Double? { values[series] }
}
