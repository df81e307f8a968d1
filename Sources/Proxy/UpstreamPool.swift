import NIOCore
import NIOPosix

/// The keep-alive connections to one upstream on one event loop, and the requests in flight to
/// it. Touched only on its event loop.
final class UpstreamPool {
    let upstream: Upstream
    /// Requests being forwarded to this upstream (connecting included) and open tunnels.
    var inFlight = 0
    /// Set when the upstream left the route table: its connections are closed, not pooled.
    private(set) var isRetired = false

    private var idle: [UpstreamHandler] = []
    private let maxIdle: Int
    private let bootstrap: ClientBootstrap
    /// The upstream's address when `host` is an IP literal, so connecting skips the resolver.
    private let address: SocketAddress?

    init(upstream: Upstream, eventLoop: any EventLoop, connectTimeout: TimeAmount, maxIdle: Int) {
        self.upstream = upstream
        self.maxIdle = maxIdle
        self.address = try? SocketAddress(ipAddress: upstream.host, port: upstream.port)
        self.idle.reserveCapacity(maxIdle)
        self.bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        UpstreamHandler()
                    )
                }
            }
    }

    /// A kept-alive connection ready for a request, most recently used first.
    func takeIdleConnection() -> UpstreamHandler? {
        idle.popLast()
    }

    /// Opens a new connection; `completion` runs on the event loop.
    func connect(_ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void) {
        let future =
            if let address {
                bootstrap.connect(to: address)
            } else {
                bootstrap.connect(host: upstream.host, port: upstream.port)
            }
        future.assumeIsolated().whenComplete { result in
            completion(
                result.flatMap { channel in
                    Result {
                        let connection = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                        connection.pool = self
                        return connection
                    }
                }
            )
        }
    }

    /// Takes back a connection whose exchange finished cleanly, or closes it when the pool is
    /// full or retired.
    func release(_ connection: UpstreamHandler) {
        if isRetired || idle.count >= maxIdle || !connection.isActive {
            connection.close()
        } else {
            idle.append(connection)
        }
    }

    /// Forgets a connection that closed while it sat in the pool.
    func connectionClosed(_ connection: UpstreamHandler) {
        if let index = idle.firstIndex(where: { $0 === connection }) {
            idle.remove(at: index)
        }
    }

    /// Marks the pool as no longer routed to (closing its idle connections) or routed again.
    func setRetired(_ retired: Bool) {
        isRetired = retired
        if retired {
            closeIdleConnections()
        }
    }

    /// Closes every idle connection, for shutdown.
    func closeIdleConnections() {
        let connections = idle
        idle.removeAll()
        for connection in connections {
            connection.close()
        }
    }
}
