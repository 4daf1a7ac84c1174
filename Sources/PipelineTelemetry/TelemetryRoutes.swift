/// What each path answers, apart from any socket: `/metrics` (Prometheus text
/// format), `/healthz` (the process is alive and serving) and `/readyz`.
public struct TelemetryRoutes: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var contentType: String
        public var body: [UInt8]
        public var allow: String? = nil
    }

    static let exposition = "text/plain; version=0.0.4; charset=utf-8"
    static let text = "text/plain; charset=utf-8"

    let metrics: PipelineMetrics
    let readiness: Readiness

    public init(metrics: PipelineMetrics, readiness: Readiness) {
        self.metrics = metrics
        self.readiness = readiness
    }

    /// `method` as sent (GET, HEAD, ...), `target` the request target (path and any query).
    public func respond(method: String, target: String) -> Response {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let known = ["/metrics", "/healthz", "/readyz"]
        guard known.contains(String(path)) else {
            return Response(
                status: 404, contentType: Self.text, body: Array("not found; try /metrics, /healthz or /readyz\n".utf8))
        }
        guard method == "GET" || method == "HEAD" else {
            return Response(
                status: 405, contentType: Self.text, body: Array("use GET\n".utf8), allow: "GET, HEAD")
        }
        switch path {
        case "/metrics":
            return Response(status: 200, contentType: Self.exposition, body: metrics.exposition())
        case "/healthz":
            return Response(status: 200, contentType: Self.text, body: Array("ok\n".utf8))
        default:
            let status = readiness.status()
            let text = (status.isReady ? "ready: " : "not ready: ") + status.lines.joined(separator: "; ") + "\n"
            return Response(status: status.isReady ? 200 : 503, contentType: Self.text, body: Array(text.utf8))
        }
    }
}
