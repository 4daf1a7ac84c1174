import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 GET to a port on 127.0.0.1, what `curl` would do, with no
/// HTTP library in between: status line and body, as the server sent them.
/// Shared by the test targets that talk to a listener (our /metrics, Prometheus).
public struct HTTPGet: Sendable {
    /// `HTTP/1.1 200 OK`, without the CRLF.
    public var statusLine: String
    public var status: Int
    public var body: String

    /// nil when nothing listens or the server did not answer within `timeoutSeconds`.
    public static func get(port: Int, _ target: String, timeoutSeconds: Int = 5) -> HTTPGet? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
        let request = Array("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { return nil }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count < 0 { return nil }  // timed out or reset
            if count == 0 { break }
            response += chunk[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"), let lineEnd = text.range(of: "\r\n"),
            let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        let headers = text[..<headerEnd.lowerBound].lowercased()
        // Prometheus's API answers chunked; our listener sends a Content-Length.
        let rawBody = String(text[headerEnd.upperBound...])
        return HTTPGet(
            statusLine: String(text[..<lineEnd.lowerBound]), status: status,
            body: headers.contains("transfer-encoding: chunked") ? dechunk(rawBody) : rawBody)
    }

    private static func dechunk(_ text: String) -> String {
        var body = Substring(text)
        var result = ""
        while let lineEnd = body.range(of: "\r\n"), let size = Int(body[..<lineEnd.lowerBound], radix: 16), size > 0 {
            let start = lineEnd.upperBound
            let bytes = Array(body[start...].utf8)
            result += String(decoding: bytes.prefix(size), as: UTF8.self)
            body = Substring(String(decoding: bytes.dropFirst(size + 2), as: UTF8.self))
        }
        return result
    }
}
