import Logging
import PipelineIO
import PipelineTelemetry

/// The worker's /metrics, /healthz and /readyz: the listener, the database probe
/// behind /readyz, and the observer that feeds both. Absent with --metrics-port 0.
struct WorkerTelemetry {
    /// How often /readyz's database check runs, and when an answer is too old to trust.
    static let probeIntervalMs = 2_000
    static let staleAfterMs: Int64 = 10_000

    let observer: MetricsObserver
    let metrics: PipelineMetrics
    private let server: TelemetryServer
    private let probe: DatabaseProbe

    static func start(_ listener: (host: String, port: Int)?, databaseURL: String, logger: Logger) throws
        -> WorkerTelemetry?
    {
        guard let listener else {
            logger.info("metrics listener disabled (--metrics-port 0)")
            return nil
        }
        let metrics = PipelineMetrics()
        let readiness = Readiness(staleAfterMs: staleAfterMs)
        let server = try TelemetryServer.start(
            host: listener.host, port: listener.port, routes: TelemetryRoutes(metrics: metrics, readiness: readiness),
            logger: logger)
        let probe = DatabaseProbe(databaseURL: databaseURL, intervalMs: probeIntervalMs, logger: logger) { error in
            readiness.databaseChecked(error: error)
        }
        probe.start()
        return WorkerTelemetry(
            observer: MetricsObserver(metrics: metrics, readiness: readiness), metrics: metrics, server: server,
            probe: probe)
    }

    func stop() {
        probe.stop()
        server.stop()
    }
}
