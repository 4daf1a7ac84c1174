import Logging
import PipelineCore
import TestSupport
import Testing

@testable import PipelineTelemetry

@Suite("the HTTP listener and its routes")
struct TelemetryServerTests {
    @Test("routes: /metrics in the 0.0.4 text format, /healthz, /readyz 503 then 200, 404 and 405")
    func routes() {
        let metrics = PipelineMetrics()
        let readiness = Readiness(staleAfterMs: 10_000)
        let routes = TelemetryRoutes(metrics: metrics, readiness: readiness)

        let scrape = routes.respond(method: "GET", target: "/metrics")
        #expect(scrape.status == 200)
        #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(String(decoding: scrape.body, as: UTF8.self).contains("# TYPE pipeline_events_ingested_total counter"))
        #expect(routes.respond(method: "GET", target: "/healthz").status == 200)
        #expect(routes.respond(method: "HEAD", target: "/healthz").status == 200)

        let unready = routes.respond(method: "GET", target: "/readyz")
        #expect(unready.status == 503)
        #expect(String(decoding: unready.body, as: UTF8.self).hasPrefix("not ready: no partitions assigned"))
        readiness.partitionsAssigned(2)
        readiness.databaseChecked(error: nil)
        #expect(routes.respond(method: "GET", target: "/readyz?verbose=1").status == 200)

        #expect(routes.respond(method: "GET", target: "/").status == 404)
        let post = routes.respond(method: "POST", target: "/metrics")
        #expect(post.status == 405)
        #expect(post.allow == "GET, HEAD")
    }

    @Test("the listener serves on the port it was given and stops; a taken port is an error naming it")
    func listener() throws {
        let routes = TelemetryRoutes(metrics: PipelineMetrics(), readiness: Readiness(staleAfterMs: 10_000))
        let server = try TelemetryServer.start(
            host: "127.0.0.1", port: 0, routes: routes, logger: Logger(label: "test"))
        defer { server.stop() }
        let port = try #require(Int(server.localAddress.split(separator: ":").last ?? ""))
        #expect(port > 0)
        let response = try #require(HTTPGet.get(port: port, "/healthz"))
        #expect(response.statusLine == "HTTP/1.1 200 OK")
        #expect(response.body == "ok\n")

        #expect {
            try TelemetryServer.start(host: "127.0.0.1", port: port, routes: routes, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(port)") && "\(error)".contains("--metrics-port")
        }
    }
}
