import EventContract
import Sketches

/// One micro-batch, encoded as it arrives: accepted events as binary COPY rows
/// for `staging.events`, rejected ones as COPY text for `etl.rejected_events`, plus what
/// the ledger and the fencing need. Allocated once per worker and `reset`
/// between batches, so the buffers keep their capacity.
public struct EventBatch {
    /// Offsets one partition contributed.
    public struct PartitionRange: Sendable, Equatable {
        public var partition: Int32
        /// `etl.offsets.next_offset` when the batch began: the fencing condition.
        public var expectedNextOffset: Int64
        public var firstOffset: Int64
        public var lastOffset: Int64
        public var messages: Int
    }

    public static let eventColumns =
        "event_id, event_type, event_time, user_id, payload, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, batch_id"
    /// 9999-12-31T23:59:59.999Z
    static let maxKafkaTimestampMs: Int64 = 253_402_300_799_999

    public static let rejectColumns =
        "kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, kafka_key, raw, reason, detail, batch_id"

    public let topic: String
    public private(set) var batchID: Int64 = 0
    public private(set) var startedAtMicros: Int64 = 0
    /// Binary COPY rows for staging.events (`FORMAT binary`, CopyBinary), without the format's
    /// header and trailer (the sink sends those around each COPY, which may hold some of the
    /// rows): PostgreSQL parses no uuid or timestamp text, and the payload goes as it came,
    /// unescaped (300 000 high-cardinality rows COPYed in 0.87–1.08 s against 1.4–2.1 s as
    /// text, BENCHMARKS.md, sixth session).
    public private(set) var eventRows: [UInt8] = []
    /// COPY text rows for etl.rejected_events.
    public private(set) var rejectRows: [UInt8] = []
    public private(set) var events = 0
    public private(set) var rejected = 0
    /// Sum of message value sizes.
    public private(set) var bytes = 0
    /// Distinct UTC days (since the epoch) of accepted events' event_time: the partitions they need.
    public private(set) var days: [Int32] = []
    public private(set) var minKafkaTimestampMs: Int64?
    public private(set) var maxKafkaTimestampMs: Int64?
    /// Rejections per reason code, in order of first appearance (a handful at most).
    public private(set) var rejectedByReason: [(reason: String, count: Int)] = []
    /// Kafka timestamps of the batch's messages (those that have one), in no set order.
    public private(set) var kafkaTimestampsMs: [Int64] = []
    /// Each accepted event's claim on its event_id, in arrival order (`claimRows()` sorts them).
    public private(set) var claims: [EventIDClaim] = []
    /// The copies the worker found among the batch's events before it committed (ClaimHints).
    public var claimHints = ClaimHints()
    /// What the declared aggregates and session windows read of each accepted event.
    public private(set) var aggregateInputs = AggregateInputs()
    /// Where each accepted event's row ends in `eventRows`, in `claims` order: a batch spanning
    /// days picks each day's rows out (EventBatch+DayRows), and the sink each row PostgreSQL
    /// refuses (EventBatch+DeadLetter), without reading the rows for their ends.
    private(set) var eventRowEnds: [Int] = []

    /// Indexed by partition number; `messages == 0` means the partition is not in this batch.
    private var rangesByPartition: [PartitionRange] = []
    /// The topic's UTF-8 bytes (event rows), and escaped for COPY text once (reject rows).
    private let topicBytes: [UInt8]
    private(set) var escapedTopic: [UInt8] = []
    private var scratch: [UInt8] = []

    /// `expectedBytes`: the most bytes of event rows one batch can hold (`rowBytesBound`).
    public init(topic: String, expectedBytes: Int = 0) {
        self.topic = topic
        topicBytes = Array(topic.utf8)
        CopyText.appendEscaped(topic, to: &escapedTopic)
        // Reserved, not used: a buffer this large is mmap'ed, and only the pages a batch writes
        // become resident. A buffer that grows instead holds its old and its new copy at once
        // (heaptrack: two lanes each doubling a too-small reservation were 37 MB of the worker's
        // 88 MB peak heap).
        eventRows.reserveCapacity(expectedBytes)
        claims.reserveCapacity(expectedBytes / 256)
        eventRowEnds.reserveCapacity(expectedBytes / 256)
    }

    /// The most bytes of COPY rows a batch closed by these limits usually holds: every message
    /// byte (plus an eighth for the user ids, copied out of the payloads) and 256 bytes of other
    /// columns per event.
    public static func rowBytesBound(maxBatchBytes: Int, maxBatchEvents: Int) -> Int {
        maxBatchBytes + maxBatchBytes / 8 + maxBatchEvents * 256
    }

    public var isEmpty: Bool { events + rejected == 0 }
    public var messages: Int { events + rejected }

    /// The partitions in this batch, in partition order.
    public var partitionRanges: [PartitionRange] { rangesByPartition.filter { $0.messages > 0 } }

    /// Empties the batch for reuse, keeping buffer capacity.
    public mutating func reset(batchID: Int64, startedAtMicros: Int64) {
        self.batchID = batchID
        self.startedAtMicros = startedAtMicros
        eventRows.removeAll(keepingCapacity: true)
        rejectRows.removeAll(keepingCapacity: true)
        kafkaTimestampsMs.removeAll(keepingCapacity: true)
        claims.removeAll(keepingCapacity: true)
        claimHints = ClaimHints()
        eventRowEnds.removeAll(keepingCapacity: true)
        aggregateInputs.reset()
        rejectedByReason.removeAll(keepingCapacity: true)
        days.removeAll(keepingCapacity: true)
        for index in rangesByPartition.indices { rangesByPartition[index].messages = 0 }
        events = 0
        rejected = 0
        bytes = 0
        minKafkaTimestampMs = nil
        maxKafkaTimestampMs = nil
    }

    /// Validates one message and appends it as an event or a rejection.
    /// `expectedNextOffset` is the partition's loaded position when the batch began.
    public mutating func add(
        _ message: IncomingMessage, expectedNextOffset: Int64, validator: EventValidator, nowMicros: Int64
    ) {
        var message = message
        // A producer can set any timestamp; beyond year 9999 it is garbage, not a time.
        if let timestamp = message.timestampMs, !(0...Self.maxKafkaTimestampMs).contains(timestamp) {
            message.timestampMs = nil
        }
        trackPartition(message, expectedNextOffset: expectedNextOffset)
        bytes += message.payload?.count ?? 0
        if let timestamp = message.timestampMs {
            kafkaTimestampsMs.append(timestamp)
            minKafkaTimestampMs = min(minKafkaTimestampMs ?? timestamp, timestamp)
            maxKafkaTimestampMs = max(maxKafkaTimestampMs ?? timestamp, timestamp)
        }
        switch validator.validate(message.payload, nowMicros: nowMicros) {
        case .success(let event):
            appendEvent(event, message)
        case .failure(let error):
            appendRejection(message, reason: error.reason.rawValue, detail: error.detail)
        }
    }

    /// Ingest latency over the batch's messages: `commitMicros` minus each Kafka timestamp.
    public mutating func latencySummary(commitMicros: Int64) -> LatencySummary? {
        guard !kafkaTimestampsMs.isEmpty else { return nil }
        kafkaTimestampsMs.sort()
        let commitMs = Double(commitMicros) / 1000
        func latency(atFraction fraction: Double) -> Double {
            // The oldest timestamps have the longest latency: percentile p reads index (1 - p).
            let index = Int((Double(kafkaTimestampsMs.count - 1) * (1 - fraction)).rounded(.down))
            return max(0, commitMs - Double(kafkaTimestampsMs[index]))
        }
        return LatencySummary(
            p50Ms: latency(atFraction: 0.5), p95Ms: latency(atFraction: 0.95), maxMs: latency(atFraction: 1))
    }

    private mutating func trackPartition(_ message: IncomingMessage, expectedNextOffset: Int64) {
        let index = Int(message.partition)
        while rangesByPartition.count <= index {
            rangesByPartition.append(
                PartitionRange(
                    partition: Int32(rangesByPartition.count), expectedNextOffset: 0, firstOffset: 0, lastOffset: 0,
                    messages: 0))
        }
        if rangesByPartition[index].messages == 0 {
            rangesByPartition[index].expectedNextOffset = expectedNextOffset
            rangesByPartition[index].firstOffset = message.offset
        }
        rangesByPartition[index].lastOffset = message.offset
        rangesByPartition[index].messages += 1
    }

    private mutating func appendEvent(_ event: ValidatedEvent, _ message: IncomingMessage) {
        let payload = message.payload!  // accepted events always have a payload
        CopyBinary.appendFieldCount(10, to: &eventRows)
        CopyBinary.appendUUID(event.eventID, to: &eventRows)
        CopyBinary.appendText(EventBatch.eventTypeNames[Int(event.eventType.rawValue)], to: &eventRows)
        CopyBinary.appendTimestamp(micros: event.eventTimeMicros, to: &eventRows)
        if event.userID.hasEscapes {
            scratch.removeAll(keepingCapacity: true)
            JSONText.appendDecoded(event.userID, of: payload, to: &scratch)
            CopyBinary.appendText(scratch, to: &eventRows)
        } else {
            CopyBinary.appendText(UnsafeRawBufferPointer(rebasing: payload[event.userID.range]), to: &eventRows)
        }
        CopyBinary.appendText(payload, to: &eventRows)  // json's binary form is its text (0022)
        CopyBinary.appendText(topicBytes, to: &eventRows)
        CopyBinary.appendInt32(message.partition, to: &eventRows)
        CopyBinary.appendInt64(message.offset, to: &eventRows)
        if let timestamp = message.timestampMs {
            CopyBinary.appendTimestamp(micros: timestamp * 1000, to: &eventRows)
        } else {
            CopyBinary.appendNull(to: &eventRows)
        }
        CopyBinary.appendInt64(batchID, to: &eventRows)
        eventRowEnds.append(eventRows.count)
        events += 1
        claims.append(
            EventIDClaim(
                eventID: event.eventID, eventTimeMicros: event.eventTimeMicros, partition: message.partition,
                offset: message.offset, payloadHash: Int64(bitPattern: MurmurHash3.hash64(payload))))
        aggregateInputs.append(event, message: payload)

        let day = EventTime.dayNumber(micros: event.eventTimeMicros)
        if days.last != day && !days.contains(day) { days.append(day) }
    }

    private mutating func appendRejection(_ message: IncomingMessage, reason: String, detail: String) {
        Self.appendRejectRow(
            escapedTopic: escapedTopic, partition: message.partition, offset: message.offset,
            timestampMs: message.timestampMs, key: message.key, raw: message.payload, reason: reason, detail: detail,
            batchID: batchID, to: &rejectRows)
        rejected += 1
        if let index = rejectedByReason.firstIndex(where: { $0.reason == reason }) {
            rejectedByReason[index].count += 1
        } else {
            rejectedByReason.append((reason, 1))
        }
    }

    /// One `etl.rejected_events` row (`rejectColumns`) in COPY text.
    // Static, not an instance method: an instance method reading `self` while a stored
    // property of `self` is passed inout forces Swift to copy the whole buffer on
    // every call (measured: O(n²) per batch, 0.7 ms per message at 10 000 messages).
    static func appendRejectRow(
        escapedTopic: [UInt8], partition: Int32, offset: Int64, timestampMs: Int64?, key: UnsafeRawBufferPointer?,
        raw: UnsafeRawBufferPointer?, reason: String, detail: String, batchID: Int64, to out: inout [UInt8]
    ) {
        out.append(contentsOf: escapedTopic)
        out.append(CopyText.tab)
        CopyText.appendInteger(Int64(partition), to: &out)
        out.append(CopyText.tab)
        CopyText.appendInteger(offset, to: &out)
        out.append(CopyText.tab)
        if let timestampMs {
            EventTime.appendPostgresText(micros: timestampMs * 1000, to: &out)
        } else {
            CopyText.appendNull(to: &out)
        }
        out.append(CopyText.tab)
        appendBytea(key, to: &out)
        out.append(CopyText.tab)
        appendBytea(raw, to: &out)
        out.append(CopyText.tab)
        CopyText.appendEscaped(reason, to: &out)
        out.append(CopyText.tab)
        CopyText.appendEscaped(detail, to: &out)
        out.append(CopyText.tab)
        CopyText.appendInteger(batchID, to: &out)
        out.append(CopyText.newline)
    }

    private static func appendBytea(_ bytes: UnsafeRawBufferPointer?, to out: inout [UInt8]) {
        guard let bytes else { return CopyText.appendNull(to: &out) }
        CopyText.appendBytea(bytes, to: &out)
    }

    static let eventTypeNames: [[UInt8]] = EventType.allCases.map { Array($0.name.utf8) }
}

/// Made only by `EventBatch.latencySummary`, so it keeps the internal memberwise initializer.
public struct LatencySummary: Sendable, Equatable {
    public var p50Ms: Double
    public var p95Ms: Double
    public var maxMs: Double
}
