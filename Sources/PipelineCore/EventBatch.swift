import EventContract

/// One micro-batch, encoded as it arrives: accepted events as COPY text rows
/// for `staging.events`, rejected ones for `etl.rejected_events`, plus what
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
    /// COPY text rows for staging.events.
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
    /// What the declared aggregates and session windows read of each accepted event.
    public private(set) var aggregateInputs = AggregateInputs()
    /// Where each accepted event's row ends in `eventRows`, in `claims` order: a batch spanning
    /// days picks each day's rows out without searching the rows for their ends (EventBatch+DayRows).
    private(set) var eventRowEnds: [Int] = []

    /// Indexed by partition number; `messages == 0` means the partition is not in this batch.
    private var rangesByPartition: [PartitionRange] = []
    /// The topic, escaped for COPY text once.
    private(set) var escapedTopic: [UInt8] = []
    private var scratch: [UInt8] = []

    /// `expectedBytes`: the most bytes of event rows one batch can hold (`rowBytesBound`).
    public init(topic: String, expectedBytes: Int = 0) {
        self.topic = topic
        CopyText.appendEscaped(topic, to: &escapedTopic)
        // Reserved, not used: a buffer this large is mmap'ed, and only the pages a batch writes
        // become resident. A buffer that grows instead holds its old and its new copy at once
        // (heaptrack: two lanes each doubling a too-small reservation were 37 MB of the worker's
        // 88 MB peak heap).
        eventRows.reserveCapacity(expectedBytes)
        claims.reserveCapacity(expectedBytes / 256)
        eventRowEnds.reserveCapacity(expectedBytes / 256)
    }

    /// The most bytes of COPY rows a batch closed by these limits can hold: every message byte
    /// (plus an eighth for COPY's escapes) and 256 bytes of columns per event.
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
        event.eventID.appendCanonical(to: &eventRows)
        eventRows.append(CopyText.tab)
        eventRows.append(contentsOf: EventBatch.eventTypeNames[Int(event.eventType.rawValue)])
        eventRows.append(CopyText.tab)
        EventTime.appendPostgresText(micros: event.eventTimeMicros, to: &eventRows)
        eventRows.append(CopyText.tab)
        if event.userID.hasEscapes {
            scratch.removeAll(keepingCapacity: true)
            JSONText.appendDecoded(event.userID, of: payload, to: &scratch)
            CopyText.appendEscaped(scratch, to: &eventRows)
        } else {
            CopyText.appendEscaped(UnsafeRawBufferPointer(rebasing: payload[event.userID.range]), to: &eventRows)
        }
        eventRows.append(CopyText.tab)
        CopyText.appendEscaped(payload, to: &eventRows)
        eventRows.append(CopyText.tab)
        Self.appendKafkaColumns(message, escapedTopic: escapedTopic, to: &eventRows)
        eventRows.append(CopyText.tab)
        CopyText.appendInteger(batchID, to: &eventRows)
        eventRows.append(CopyText.newline)
        eventRowEnds.append(eventRows.count)
        events += 1
        claims.append(
            EventIDClaim(
                eventID: event.eventID, eventTimeMicros: event.eventTimeMicros, partition: message.partition,
                offset: message.offset))
        aggregateInputs.append(event, message: payload)

        let day = EventTime.dayNumber(micros: event.eventTimeMicros)
        if days.last != day && !days.contains(day) { days.append(day) }
    }

    private mutating func appendRejection(_ message: IncomingMessage, reason: String, detail: String) {
        Self.appendKafkaColumns(message, escapedTopic: escapedTopic, to: &rejectRows)
        rejectRows.append(CopyText.tab)
        Self.appendBytea(message.key, to: &rejectRows)
        rejectRows.append(CopyText.tab)
        Self.appendBytea(message.payload, to: &rejectRows)
        rejectRows.append(CopyText.tab)
        CopyText.appendEscaped(reason, to: &rejectRows)
        rejectRows.append(CopyText.tab)
        CopyText.appendEscaped(detail, to: &rejectRows)
        rejectRows.append(CopyText.tab)
        CopyText.appendInteger(batchID, to: &rejectRows)
        rejectRows.append(CopyText.newline)
        rejected += 1
        if let index = rejectedByReason.firstIndex(where: { $0.reason == reason }) {
            rejectedByReason[index].count += 1
        } else {
            rejectedByReason.append((reason, 1))
        }
    }

    /// kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, tab-separated: the last
    /// columns of an event row, the first of a reject row.
    // Static, not instance methods: an instance method reading `self` while a stored
    // property of `self` is passed inout forces Swift to copy the whole buffer on
    // every call (measured: O(n²) per batch, 0.7 ms per message at 10 000 messages).
    private static func appendKafkaColumns(_ message: IncomingMessage, escapedTopic: [UInt8], to out: inout [UInt8]) {
        appendPosition(escapedTopic: escapedTopic, partition: message.partition, offset: message.offset, to: &out)
        out.append(CopyText.tab)
        Self.appendTimestamp(message.timestampMs, to: &out)
    }

    /// kafka_topic, kafka_partition, kafka_offset, tab-separated: where the record sits.
    private static func appendPosition(escapedTopic: [UInt8], partition: Int32, offset: Int64, to out: inout [UInt8]) {
        out.append(contentsOf: escapedTopic)
        out.append(CopyText.tab)
        CopyText.appendInteger(Int64(partition), to: &out)
        out.append(CopyText.tab)
        CopyText.appendInteger(offset, to: &out)
    }

    private static func appendTimestamp(_ milliseconds: Int64?, to out: inout [UInt8]) {
        guard let milliseconds else { return CopyText.appendNull(to: &out) }
        EventTime.appendPostgresText(micros: milliseconds * 1000, to: &out)
    }

    private static func appendBytea(_ bytes: UnsafeRawBufferPointer?, to out: inout [UInt8]) {
        guard let bytes else { return CopyText.appendNull(to: &out) }
        CopyText.appendBytea(bytes, to: &out)
    }

    private static let eventTypeNames: [[UInt8]] = EventType.allCases.map { Array($0.name.utf8) }
}

/// Made only by `EventBatch.latencySummary`, so it keeps the internal memberwise initializer.
public struct LatencySummary: Sendable, Equatable {
    public var p50Ms: Double
    public var p95Ms: Double
    public var maxMs: Double
}
