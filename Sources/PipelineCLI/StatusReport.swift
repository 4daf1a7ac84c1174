import Foundation

/// What `pipeline status` found: the JSON shape of `--json` (snake_case keys) and
/// the source of the human table. Times are UTC ISO 8601 strings, ages in seconds.
struct StatusReport: Codable, Sendable {
    struct Partition: Codable, Sendable {
        var partition: Int32
        /// etl.offsets.next_offset; nil when no worker has claimed the partition yet.
        var nextOffset: Int64?
        var lowWatermark: Int64?
        var highWatermark: Int64?
        /// high watermark - next offset (- low watermark when unclaimed); nil without Kafka.
        var lag: Int64?
        var updatedBy: String?
        var updatedAgeSeconds: Double?
    }

    struct Batch: Codable, Sendable {
        var batchID: Int64
        var workerID: String
        var events: Int64
        var rejected: Int64
        var committedAt: String
        var ageSeconds: Double
    }

    struct Totals: Codable, Sendable {
        var batches: Int64
        var events: Int64
        var rejected: Int64
    }

    struct Watermark: Codable, Sendable {
        /// The largest event time loaded for the topic.
        var maxEventTime: String
        /// maxEventTime minus etl.settings allowed_lateness: windows ending at or before it are final.
        var watermark: String?
        var allowedLateness: String?
    }

    /// The aggregates' backlog (all topics: the aggregates span them).
    struct Aggregates: Codable, Sendable {
        /// Committed batches whose rows no refresh has added yet.
        var batchesWaiting: Int64
        /// Age of the oldest of them, when any.
        var oldestWaitingSeconds: Double?
        /// Rebuilds requested (etl.rebuild_requests) and the hours they still cover.
        var rebuildRequests: Int64
        var rebuildHoursLeft: Double
    }

    struct Rejection: Codable, Sendable {
        var reason: String
        var count: Int64
    }

    struct Gap: Codable, Sendable {
        var gapID: Int64
        var partition: Int32
        var firstOffset: Int64
        var lastOffset: Int64
        var messagesLost: Int64
        var detectedAt: String
        var ageSeconds: Double
        var detectedBy: String
        /// Detected within --max-idle: makes the pipeline unhealthy.
        var isNew: Bool
    }

    var topic: String
    var healthy: Bool
    /// Why the pipeline is unhealthy; empty when healthy.
    var problems: [String]
    var maxIdleSeconds: Double
    /// Whether the high watermarks (and so the lag) were read from Kafka.
    var kafkaChecked: Bool
    /// Why Kafka could not be read, when brokers were given but did not answer.
    var kafkaError: String?
    var totalLag: Int64?
    var partitions: [Partition]
    var lastBatch: Batch?
    var totals: Totals
    var watermark: Watermark?
    var aggregates: Aggregates
    var rejectionsLastHour: [Rejection]
    /// Every recorded gap, newest first.
    var gaps: [Gap]

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// Aligned text columns; numeric columns right-aligned.
struct TextTable {
    var headers: [String]
    var rightAligned: Set<Int> = []
    var rows: [[String]] = []

    func render(indent: String = "  ") -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? padding + cell : cell + padding
            }
            return indent + padded.joined(separator: "  ").trimmingTrailingSpaces()
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

/// "4s", "3m 10s", "2h 5m", "3d 4h": an age at a glance.
func formatAge(seconds: Double) -> String {
    func join(_ major: Int, _ majorUnit: String, _ minor: Int, _ minorUnit: String) -> String {
        minor == 0 ? "\(major)\(majorUnit)" : "\(major)\(majorUnit) \(minor)\(minorUnit)"
    }
    let total = max(0, Int(seconds.rounded(.down)))
    if total < 60 { return "\(total)s" }
    if total < 3600 { return join(total / 60, "m", total % 60, "s") }
    if total < 86_400 { return join(total / 3600, "h", total % 3600 / 60, "m") }
    return join(total / 86_400, "d", total % 86_400 / 3600, "h")
}
