import Glibc
import Logging
import PipelineCore
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
        let response = try #require(get(port: port, "/healthz"))
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nok\n"))

        #expect {
            try TelemetryServer.start(host: "127.0.0.1", port: port, routes: routes, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(port)") && "\(error)".contains("--metrics-port")
        }
    }
}

/// The raw response to `GET path` on 127.0.0.1:port, read to the end (Connection: close).
private func get(port: Int, _ path: String) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
    guard send(fd, request, request.count, 0) == request.count else { return nil }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = recv(fd, &chunk, chunk.count, 0)
        if count <= 0 { return count == 0 ? String(decoding: response, as: UTF8.self) : nil }
        response += chunk[0..<count]
    }
}
