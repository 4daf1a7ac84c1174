import ArgumentParser
import EventGenerator
import Foundation
import Logging
import PipelineCore
import PipelineIO

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

        let stopSignal = StopSignal()
        var run = try ProduceRun(
            brokers: brokers, properties: properties, maxMessageBytes: maxMessageBytes, topic: topic,
            simulator: EventSimulator(configuration: generatorConfiguration), resender: resender,
            limiter: rate > 0 ? TokenBucket(rate: rate) : nil, count: count, durationMs: durationMs.map { Int64($0) },
            progressIntervalMs: Int64(progressIntervalMs), stopSignal: stopSignal, say: Self.say)
        let signalSources = SignalHandling.install(stopSignal: stopSignal, logger: Logger(label: "pipeline.produce"))
        defer { signalSources.forEach { $0.cancel() } }
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
