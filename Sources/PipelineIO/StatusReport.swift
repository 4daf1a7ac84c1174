import Foundation

/// What `pipeline status` found (read by `StatusReader`): the JSON shape of `--json` (snake_case keys) and
/// the source of the human table. Times are UTC ISO 8601 strings, ages in seconds.
public struct StatusReport: Codable, Sendable {
    public struct Partition: Codable, Sendable {
        public var partition: Int32
        /// etl.offsets.next_offset; nil when no worker has claimed the partition yet.
        public var nextOffset: Int64?
        public var lowWatermark: Int64?
        public var highWatermark: Int64?
        /// high watermark - next offset (- low watermark when unclaimed); nil without Kafka.
        public var lag: Int64?
        public var updatedBy: String?
        public var updatedAgeSeconds: Double?
    }

    public struct Batch: Codable, Sendable {
        public var batchID: Int64
        public var workerID: String
        public var events: Int64
        public var rejected: Int64
        public var committedAt: String
        public var ageSeconds: Double
    }

    public struct Totals: Codable, Sendable {
        public var batches: Int64
        public var events: Int64
        public var rejected: Int64
    }

    public struct Watermark: Codable, Sendable {
        /// The largest event time loaded for the topic.
        public var maxEventTime: String
        /// maxEventTime minus etl.settings allowed_lateness: windows ending at or before it are final.
        public var watermark: String?
        public var allowedLateness: String?
    }

    /// The aggregates' backlog (all topics: the aggregates span them).
    public struct Aggregates: Codable, Sendable {
        /// Committed batches whose rows no refresh has added yet.
        public var batchesWaiting: Int64
        /// Age of the oldest of them, when any.
        public var oldestWaitingSeconds: Double?
        /// Committed batches whose session pieces no session merge has taken yet
        /// (etl.merge_pending_sessions), and the age of the oldest, when any.
        public var sessionBatchesWaiting: Int64
        public var oldestSessionWaitSeconds: Double?
        /// Rebuilds requested (etl.rebuild_requests) and the hours they still cover.
        public var rebuildRequests: Int64
        public var rebuildHoursLeft: Double
    }

    public struct Rejection: Codable, Sendable {
        public var reason: String
        public var count: Int64
    }

    public struct Gap: Codable, Sendable {
        public var gapID: Int64
        public var partition: Int32
        public var firstOffset: Int64
        public var lastOffset: Int64
        public var messagesLost: Int64
        public var detectedAt: String
        public var ageSeconds: Double
        public var detectedBy: String
        /// Detected within --max-idle: makes the pipeline unhealthy.
        public var isNew: Bool
    }

    public var topic: String
    public var healthy: Bool
    /// Why the pipeline is unhealthy; empty when healthy.
    public var problems: [String]
    public var maxIdleSeconds: Double
    /// Whether the high watermarks (and so the lag) were read from Kafka.
    public var kafkaChecked: Bool
    /// Why Kafka could not be read, when brokers were given but did not answer.
    public var kafkaError: String?
    public var totalLag: Int64?
    public var partitions: [Partition]
    public var lastBatch: Batch?
    public var totals: Totals
    public var watermark: Watermark?
    public var aggregates: Aggregates
    public var rejectionsLastHour: [Rejection]
    /// Every recorded gap, newest first.
    public var gaps: [Gap]

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
