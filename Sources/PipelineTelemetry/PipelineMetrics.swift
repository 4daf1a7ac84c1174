import CoreMetrics
import PipelineCore
import Prometheus

/// The worker's metrics: swift-metrics handles over a Prometheus registry of their
/// own (no process-wide `MetricsSystem.bootstrap`, so tests can make as many as
/// they like). Series without labels, and every `outcome` and `operation`, exist
/// from the start at 0, so rates and alerts see them before the first event.
public final class PipelineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: CatalogMetricsFactory

    let eventsIngested: CoreMetrics.Counter
    let eventsDuplicate: CoreMetrics.Counter
    let bytesIngested: CoreMetrics.Counter
    let gaps: CoreMetrics.Counter
    let batchDuration: CoreMetrics.Timer
    let ingestLatency: CoreMetrics.Timer
    let partitionsAssigned: Meter
    private let sessionWindowsLag: Meter
    private let batches: [BatchOutcome: CoreMetrics.Counter]
    private let retries: [RetriedOperation: CoreMetrics.Counter]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        let factory = CatalogMetricsFactory(registry: registry)
        self.factory = factory
        eventsIngested = CoreMetrics.Counter(label: MetricCatalog.eventsIngested.name, factory: factory)
        eventsDuplicate = CoreMetrics.Counter(label: MetricCatalog.eventsDuplicate.name, factory: factory)
        bytesIngested = CoreMetrics.Counter(label: MetricCatalog.bytesIngested.name, factory: factory)
        gaps = CoreMetrics.Counter(label: MetricCatalog.gaps.name, factory: factory)
        batchDuration = CoreMetrics.Timer(label: MetricCatalog.batchDuration.name, factory: factory)
        ingestLatency = CoreMetrics.Timer(label: MetricCatalog.ingestLatency.name, factory: factory)
        partitionsAssigned = Meter(label: MetricCatalog.partitionsAssigned.name, factory: factory)
        partitionsAssigned.set(0)
        sessionWindowsLag = Meter(label: MetricCatalog.sessionWindowsLag.name, factory: factory)
        sessionWindowsLag.set(0)
        batches = Dictionary(
            uniqueKeysWithValues: BatchOutcome.allCases.map {
                (
                    $0,
                    CoreMetrics.Counter(
                        label: MetricCatalog.batches.name, dimensions: [("outcome", $0.rawValue)], factory: factory)
                )
            })
        retries = Dictionary(
            uniqueKeysWithValues: RetriedOperation.allCases.map {
                (
                    $0,
                    CoreMetrics.Counter(
                        label: MetricCatalog.databaseRetries.name, dimensions: [("operation", $0.rawValue)],
                        factory: factory)
                )
            })
    }

    /// The text exposition format (version 0.0.4), as `/metrics` serves it.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// Reported by the aggregate refresher, from its own threads (a Meter is thread-safe).
    public func sessionWindowsLagged(seconds: Double) { sessionWindowsLag.set(seconds) }

    func batchEnded(_ outcome: BatchOutcome) { batches[outcome]?.increment() }

    func retried(_ operation: RetriedOperation) { retries[operation]?.increment() }

    func rejectedCounter(reason: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(
            label: MetricCatalog.eventsRejected.name, dimensions: [("reason", reason)], factory: factory)
    }

    func lagGauge(partition: Int32) -> Meter {
        Meter(label: MetricCatalog.consumerLag.name, dimensions: [("partition", String(partition))], factory: factory)
    }

    func lastCommitGauge() -> Meter { Meter(label: MetricCatalog.lastCommit.name, factory: factory) }
}
