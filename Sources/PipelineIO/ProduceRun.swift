import EventGenerator
import Foundation
import PipelineCore
import RdKafka

/// The produce loop: generate, rate-limit, hand to librdkafka, report.
public struct ProduceRun {
    public struct Summary: CustomStringConvertible, Sendable {
        public var sent = 0
        public var delivered = 0
        /// Delivery reports with an error, messages the client refused, and messages still
        /// undelivered when the final flush gave up.
        public var failed = 0
        public var malformed = 0
        public var late = 0
        public var duplicates = 0
        public var conflicts = 0
        public var seconds = 0.0
        public var lastError: String?

        public var description: String {
            let perSecond = seconds > 0 ? Int(Double(sent) / seconds) : 0
            return
                "produced \(sent) messages in \(String(format: "%.1f", seconds)) s (\(perSecond) events/s): delivered \(delivered), failed \(failed); malformed \(malformed), late \(late), duplicates \(duplicates), conflicts \(conflicts)"
        }
    }

    /// Where progress and fatal-error lines go (the command prints them unbuffered).
    let say: @Sendable (String) -> Void
    let producer: RDKafkaProducer
    let topic: String
    var simulator: EventSimulator
    var resender: Resender
    var limiter: TokenBucket?
    let count: Int?
    let durationMs: Int64?
    let progressIntervalMs: Int64
    let stopSignal: StopSignal

    /// Connects the producer (librdkafka connects lazily: nothing is sent before `produceAll`).
    public init(
        brokers: String, properties: [String: String], maxMessageBytes: Int, topic: String, simulator: EventSimulator,
        resender: Resender, limiter: TokenBucket?, count: Int?, durationMs: Int64?, progressIntervalMs: Int64,
        stopSignal: StopSignal, say: @escaping @Sendable (String) -> Void
    ) throws {
        self.producer = try Self.makeProducer(
            brokers: brokers, properties: properties, maxMessageBytes: maxMessageBytes)
        self.topic = topic
        self.simulator = simulator
        self.resender = resender
        self.limiter = limiter
        self.count = count
        self.durationMs = durationMs
        self.progressIntervalMs = progressIntervalMs
        self.stopSignal = stopSignal
        self.say = say
    }

    /// An idempotent producer tuned for throughput; `properties` (--kafka-property) win.
    private static func makeProducer(brokers: String, properties: [String: String], maxMessageBytes: Int) throws
        -> RDKafkaProducer
    {
        var config = RDKafkaConfig([
            "bootstrap.servers": brokers,
            "client.id": "pipeline-produce",
            // Batches of thousands: the mock broker, like a real one, pays per request, not per message.
            "linger.ms": "20",
            "batch.num.messages": "10000",
            "queue.buffering.max.messages": "500000",
            // too_large messages must reach the topic to be rejected by the worker, not by this client.
            "message.max.bytes": String(max(1_000_000, maxMessageBytes + 65_536)),
        ])
        for (key, value) in properties { config[key] = value }
        return try RDKafkaProducer(config: config)
    }

    public mutating func produceAll() -> Summary {
        var summary = Summary()
        var refused = 0
        var key: [UInt8] = []
        var value: [UInt8] = []
        key.reserveCapacity(16)
        value.reserveCapacity(1024)
        let startMs = WallClock.monotonicMs()
        var nextProgressMs = startMs + progressIntervalMs
        var lastProgress = (ms: startMs, sent: 0)

        produce: while !stopSignal.isStopRequested {
            if let count, summary.sent + refused >= count { break }
            if var bucket = limiter {
                let wait = bucket.reserve(nowNanos: Self.monotonicNanos())
                limiter = bucket
                if wait > 0 {
                    producer.poll(timeoutMs: 0)
                    usleep(useconds_t(min(wait / 1000, 1_000_000)))
                }
            }
            // nil: a resend of a recent event's bytes.
            var message: EventSimulator.Message?
            var isConflict = false
            if !resender.writeDuplicate(key: &key, value: &value) {
                let fresh = simulator.next(nowMicros: WallClock.nowMicros(), key: &key, value: &value)
                isConflict = !fresh.kind.isMalformed && resender.conflictOrRemember(key: key, value: &value)
                message = fresh
            }
            do {
                try key.withUnsafeBytes { keyBytes in
                    if message?.hasValue ?? true {
                        try value.withUnsafeBytes { valueBytes in
                            try producer.produce(topic: topic, key: keyBytes, value: valueBytes)
                        }
                    } else {
                        try producer.produce(topic: topic, key: keyBytes, value: nil)
                    }
                }
                summary.sent += 1
                if let message {
                    if message.kind.isMalformed { summary.malformed += 1 }
                    if message.isLate { summary.late += 1 }
                    if isConflict { summary.conflicts += 1 }
                } else {
                    summary.duplicates += 1
                }
            } catch {
                refused += 1
                summary.lastError = "\(error)"
                if let kafkaError = error as? KafkaError, kafkaError.isFatal {
                    say("error: the producer failed fatally: \(kafkaError)")
                    break produce
                }
            }
            if (summary.sent + refused) & 1023 == 0 || limiter != nil {
                if (summary.sent + refused) & 1023 == 0 { producer.poll(timeoutMs: 0) }
                let nowMs = WallClock.monotonicMs()
                if let durationMs, nowMs - startMs >= durationMs { break }
                if nowMs >= nextProgressMs {
                    let perSecond =
                        Double(summary.sent - lastProgress.sent) * 1000 / Double(max(1, nowMs - lastProgress.ms))
                    say(
                        "produce: sent \(summary.sent), delivered \(producer.deliveredCount), failed \(producer.failedCount + refused), \(Int(perSecond)) events/s"
                    )
                    lastProgress = (nowMs, summary.sent)
                    nextProgressMs = nowMs + progressIntervalMs
                }
            }
        }

        // Wait for the delivery reports; what is still queued after that is counted as failed.
        var undelivered = 0
        do {
            try producer.flush(timeoutMs: 60_000)
        } catch {
            undelivered = Int(producer.outQueueLength)
            summary.lastError = "\(error)"
        }
        summary.seconds = Double(WallClock.monotonicMs() - startMs) / 1000
        summary.delivered = producer.deliveredCount
        summary.failed = producer.failedCount + refused + undelivered
        if let error = producer.lastDeliveryError { summary.lastError = "\(error)" }
        return summary
    }

    private static func monotonicNanos() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
