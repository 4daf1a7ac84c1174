import ArgumentParser

/// --metrics-port and --metrics-host: where the worker serves /metrics, /healthz and /readyz.
struct MetricsOptions: ParsableArguments {
    static let defaultPort = 9464

    @Option(
        name: .customLong("metrics-port"),
        help: ArgumentHelp(
            "Serve /metrics, /healthz and /readyz on this TCP port; 0 disables (env: PIPELINE_METRICS_PORT; default 9464).",
            valueName: "PORT"))
    var portFlag: Int?

    @Option(
        name: .customLong("metrics-host"),
        help: ArgumentHelp(
            "Address to listen on: 0.0.0.0 for every interface (a container's scraper), 127.0.0.1 for this host only (env: PIPELINE_METRICS_HOST; default 0.0.0.0).",
            valueName: "HOST"))
    var hostFlag: String?

    /// nil when disabled (port 0).
    func listener() throws -> (host: String, port: Int)? {
        let port = try Environment.resolve(portFlag, "PIPELINE_METRICS_PORT", default: Self.defaultPort)
        guard (0...65535).contains(port) else {
            throw ValidationError("--metrics-port must be 0 (disabled) to 65535, got \(port)")
        }
        guard port != 0 else { return nil }
        return (hostFlag ?? Environment.value("PIPELINE_METRICS_HOST") ?? "0.0.0.0", port)
    }
}
