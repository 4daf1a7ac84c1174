import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PipelineCore

/// The HTTP listener for `/metrics`, `/healthz` and `/readyz`, on one event-loop
/// thread of its own: scrapes never run on the worker's thread.
public final class TelemetryServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The address it listens on (with the port the system chose, if 0 was asked for).
    public var localAddress: String {
        guard let address = channel.localAddress else { return "?" }
        return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.group = group
        self.channel = channel
    }

    /// Binds `host:port` and starts serving; throws `TelemetryError` naming the address
    /// when it cannot (the port is taken, the host is not ours).
    public static func start(host: String, port: Int, routes: TelemetryRoutes, logger: Logger) throws
        -> TelemetryServer
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TelemetryHTTPHandler(routes: routes))
                }
            }
            .childChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        do {
            let channel = try bootstrap.bind(host: host, port: port).wait()
            let server = TelemetryServer(group: group, channel: channel)
            logger.info(
                "serving /metrics, /healthz and /readyz", metadata: [LogKeys.httpAddress: "\(server.localAddress)"])
            return server
        } catch {
            try? group.syncShutdownGracefully()
            throw TelemetryError(
                message: "cannot listen on \(host):\(port) for /metrics: \(error)",
                remedy:
                    "Pass --metrics-port with a free port (0 disables the listener), or --metrics-host with an address of this host."
            )
        }
    }

    /// Stops listening and closes open connections.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// Why the telemetry listener could not start, and what to do about it.
public struct TelemetryError: Error, CustomStringConvertible {
    public var message: String
    public var remedy: String

    public var description: String { "\(message). \(remedy)" }
}
