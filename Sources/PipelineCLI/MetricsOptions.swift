import ArgumentParser

/// --metrics-port and --metrics-host: where the worker serves /metrics, /healthz and /readyz.
struct MetricsOptions: ParsableArguments {
    @Option(
        name: .customLong("metrics-port"),
        help: Settings.metricsPort.help("Serve /metrics, /healthz and /readyz on this TCP port", valueName: "PORT"))
    var portFlag: String?

    @Option(
        name: .customLong("metrics-host"),
        help: Settings.metricsHost.help(
            "Address to listen on: 0.0.0.0 for every interface (a container's scraper), 127.0.0.1 for this host only",
            valueName: "HOST"))
    var hostFlag: String?

    /// nil when disabled (port 0).
    func listener() throws -> (host: String, port: Int)? {
        let port = try Settings.metricsPort.resolve(portFlag)
        let host = try Settings.metricsHost.resolve(hostFlag)
        return port == 0 ? nil : (host, port)
    }
}
