import ArgumentParser
import EventGenerator
import Foundation
import Logging
import PipelineCore
import RdKafka

/// `pipeline produce`: simulated shop traffic into Kafka, at a steady rate or as fast as possible.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce simulated user events (sessions, funnel, service logs) to Kafka.",
        discussion: """
            Users land, view pages, click, some add to cart, fewer check out and pay; the services api, web \
            and payments log with bursts of errors. Every event follows the event contract and is keyed by its \
            user_id. --malformed-ratio mixes in messages that break the contract in every way it lists; \
            --late-ratio makes some event_time lag by 1 to 15 minutes; --duplicate-ratio and --conflict-ratio \
            act like a producer that retries (the worker counts each event once). The producer is idempotent; every \
            delivery failure is counted and reported, and any makes the exit status 1. Event ids, users and \
            the order of events depend only on --seed; event_time is the wall clock when an event is made.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(
        help: Settings.rate.help(
            "Events per second, steady (token bucket); 0 = as fast as possible", valueName: "EVENTS_PER_SECOND"))
    var rate: String?

    @Option(help: Settings.count.help("Stop after this many messages", valueName: "N"))
    var count: String?

    @Option(help: Settings.produceDuration.help("Stop after this long (`30s`, `5m`)", valueName: "DURATION"))
    var duration: String?

    @Option(help: Settings.seed.help("Same seed, same events", valueName: "SEED"))
    var seed: String?

    @Option(help: Settings.malformedRatio.help("Share of messages that break the contract", valueName: "R"))
    var malformedRatio: String?

    @Option(help: Settings.lateRatio.help("Share of events whose event_time lags by minutes", valueName: "R"))
    var lateRatio: String?

    @Option(
        help: Settings.duplicateRatio.help(
            "Share of messages that resend a recent event, same bytes, a quarter under another key", valueName: "R"))
    var duplicateRatio: String?

    @Option(
        help: Settings.conflictRatio.help(
            "Share of events that reuse a recent event's event_id for new content", valueName: "R"))
    var conflictRatio: String?

    @Option(
        help: Settings.funnel.help(
            "Funnel rates, any of page_views=4,click=0.6,add_to_cart=0.3,checkout=0.45,purchase=0.8,logs=0.15 (the defaults)",
            valueName: "KEY=VALUE,..."))
    var funnel: String?

    @Option(help: Settings.users.help("Distinct simulated users", valueName: "N"))
    var users: String?

    @Option(
        help: Settings.produceMaxMessageBytes.help(
            "The contract's size limit: too_large messages are one byte over it", valueName: "SIZE"))
    var maxMessageBytes: String?

    @Option(help: Settings.progressInterval.help("Print a progress line this often", valueName: "DURATION"))
    var progressInterval: String?

    func run() throws {
        // Everything is resolved and checked before anything connects.
        let count = try Settings.count.resolveOptional(self.count)
        let durationMs = try Settings.produceDuration.resolveOptional(duration)
        let maxMessageBytes = try Settings.produceMaxMessageBytes.resolve(self.maxMessageBytes)
        let progressIntervalMs = try Settings.progressInterval.resolve(progressInterval)
        let rate = try Settings.rate.resolve(self.rate)
        var generatorConfiguration = GeneratorConfiguration(
            seed: try Settings.seed.resolve(seed), users: try Settings.users.resolve(users),
            malformedRatio: try Settings.malformedRatio.resolve(malformedRatio),
            lateRatio: try Settings.lateRatio.resolve(lateRatio))
        generatorConfiguration.maxMessageBytes = maxMessageBytes
        if let funnel = try Settings.funnel.resolveOptional(funnel) {
            try Self.applyFunnel(funnel, to: &generatorConfiguration)
        }
        let resender = Resender(
            duplicateRatio: try Settings.duplicateRatio.resolve(duplicateRatio),
            conflictRatio: try Settings.conflictRatio.resolve(conflictRatio), seed: generatorConfiguration.seed)
        let topic = try kafka.topic()
        let brokers = try kafka.brokers()
        let properties = try kafka.properties()

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
        let producer = try RDKafkaProducer(config: config)

        let stopSignal = StopSignal()
        let signalSources = SignalHandling.install(stopSignal: stopSignal, logger: Logger(label: "pipeline.produce"))
        defer { signalSources.forEach { $0.cancel() } }

        var run = ProduceRun(
            producer: producer, topic: topic, simulator: EventSimulator(configuration: generatorConfiguration),
            resender: resender,
            limiter: rate > 0 ? TokenBucket(rate: rate) : nil, count: count,
            durationMs: durationMs.map { Int64($0) },
            progressIntervalMs: Int64(progressIntervalMs),
            stopSignal: stopSignal)
        Self.say(
            "producing to \(topic) at \(rate > 0 ? "\(Int(rate)) events/s" : "full speed")"
                + (count.map { ", \($0) messages" } ?? "")
                + (durationMs.map { ", for \($0 / 1000) s" } ?? "")
                + ", seed \(generatorConfiguration.seed), malformed \(generatorConfiguration.malformedRatio), late \(generatorConfiguration.lateRatio)"
                + ", duplicates \(resender.duplicateRatio), conflicts \(resender.conflictRatio)"
        )
        let summary = run.produceAll()
        Self.say(summary.description)
        if summary.failed > 0 {
            Self.say(
                "error: \(summary.failed) message(s) were not delivered"
                    + (summary.lastError.map { " (last error: \($0))" } ?? "")
                    + "; check the brokers (--brokers) and the topic (--topic) exist")
            throw ExitCode(1)
        }
    }

    /// `page_views=4,add_to_cart=0.3,...`: rates are probabilities, page_views a mean.
    static func applyFunnel(_ text: String, to configuration: inout GeneratorConfiguration) throws {
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0])
            guard parts.count == 2, funnelKeys.contains(key) else {
                throw ConfigurationError(
                    code: .malformed, setting: "--funnel", shownValue: SettingText.shown(String(pair)), detail: nil,
                    remedy: "KEY=NUMBER pairs with the keys " + funnelKeys.joined(separator: ", "))
            }
            let rate = Setting<Double>(
                flag: "--funnel \(key)", variable: nil,
                parser: key == "page_views"
                    ? .decimal(0...1000, expected: "a mean number of page views from 0 to 1000")
                    : .decimal(0...1, expected: "a probability from 0 to 1"),
                defaultValue: nil, defaultText: nil)
            let value = try rate.parse(String(parts[1]), from: rate.flag)
            switch key {
            case "page_views": configuration.funnel.meanPageViews = value
            case "click": configuration.funnel.clickPerPageView = value
            case "add_to_cart": configuration.funnel.addToCart = value
            case "checkout": configuration.funnel.checkout = value
            case "purchase": configuration.funnel.purchase = value
            default: configuration.logShare = value
            }
        }
    }

    static let funnelKeys = ["page_views", "click", "add_to_cart", "checkout", "purchase", "logs"]

    /// Unbuffered: the demo script reads these lines from a file as they come.
    static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
}

/// The produce loop: generate, rate-limit, hand to librdkafka, report.
struct ProduceRun {
    struct Summary: CustomStringConvertible {
        var sent = 0
        var delivered = 0
        /// Delivery reports with an error, messages the client refused, and messages still
        /// undelivered when the final flush gave up.
        var failed = 0
        var malformed = 0
        var late = 0
        var duplicates = 0
        var conflicts = 0
        var seconds = 0.0
        var lastError: String?

        var description: String {
            let perSecond = seconds > 0 ? Int(Double(sent) / seconds) : 0
            return
                "produced \(sent) messages in \(String(format: "%.1f", seconds)) s (\(perSecond) events/s): delivered \(delivered), failed \(failed); malformed \(malformed), late \(late), duplicates \(duplicates), conflicts \(conflicts)"
        }
    }

    let producer: RDKafkaProducer
    let topic: String
    var simulator: EventSimulator
    var resender: Resender
    var limiter: TokenBucket?
    let count: Int?
    let durationMs: Int64?
    let progressIntervalMs: Int64
    let stopSignal: StopSignal

    mutating func produceAll() -> Summary {
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
                    ProduceCommand.say("error: the producer failed fatally: \(kafkaError)")
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
                    ProduceCommand.say(
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

    static func monotonicNanos() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
