import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// mini's edge proxy: an HTTP/1.1 reverse proxy that routes `Host: <app>.<domain>` (and static
/// hosts) to app instances over pooled keep-alive connections.
///
/// Each client connection and the upstream connections it uses live on the same event loop,
/// and each loop keeps its own copy of the route table, pools and counters, so forwarding
/// takes no lock. Run it in a `ServiceGroup`: on graceful shutdown it stops accepting, lets
/// in-flight requests finish (up to ``ProxyConfiguration/drainTimeout``) and then closes.
public final class ProxyServer: Service {
    /// The configuration the server was created with.
    public let configuration: ProxyConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext>]
    private let bound: EventLoopPromise<Int>

    /// Creates a server; it listens once ``run()`` is called.
    public init(
        configuration: ProxyConfiguration = ProxyConfiguration(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        let settings = ProxySettings(configuration)
        var loops: [ObjectIdentifier: NIOLoopBoundBox<LoopContext>] = [:]
        for eventLoop in eventLoopGroup.makeIterator() {
            loops[ObjectIdentifier(eventLoop)] = .makeBoxSendingValue(
                LoopContext(eventLoop: eventLoop, settings: settings, logger: logger),
                eventLoop: eventLoop
            )
        }
        self.loops = loops
        self.bound = eventLoopGroup.any().makePromise(of: Int.self)
    }

    deinit {
        // No-op when the server did bind.
        bound.fail(ProxyError.notRunning)
    }

    /// Replaces the route table. Thread-safe; each event loop swaps its copy at once, so new
    /// requests go to the new upstreams while open connections and in-flight requests carry on.
    public func updateRoutes(_ table: RouteTable) {
        for box in loops.values {
            box.eventLoop.execute {
                box.value.apply(table)
            }
        }
    }

    /// The port the server listens on, once ``run()`` has bound it (useful with port 0).
    public func boundPort() async throws -> Int {
        try await bound.futureResult.get()
    }

    /// Binds and serves until a graceful shutdown (then drains) or cancellation (then closes
    /// everything at once).
    public func run() async throws {
        let serverChannel: any Channel
        do {
            serverChannel = try await makeBootstrap()
                .bind(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            bound.fail(error)
            throw error
        }
        let port = serverChannel.localAddress?.port ?? configuration.port
        bound.succeed(port)
        logger.info(
            "proxy listening",
            metadata: ["address": "\(configuration.host):\(port)", "domain": "\(configuration.domain)"]
        )
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled: no draining.
            try? await serverChannel.close()
            await forEachLoop { $0.closeAllConnections() }
            return
        }
        try? await serverChannel.close()
        await drain()
    }

    private func makeBootstrap() -> ServerBootstrap {
        let loops = self.loops
        return ServerBootstrap(group: eventLoopGroup)
            // Bursts of new connections wait in a long queue (the kernel caps it at somaxconn)
            // and are accepted 16 per wake-up, not NIO's default 4.
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.maxMessagesPerRead, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let box = loops[ObjectIdentifier(channel.eventLoop)] else {
                        throw ProxyError.unknownEventLoop
                    }
                    try Self.configureClientPipeline(channel, loop: box.value)
                }
            }
    }

    private static func configureClientPipeline(_ channel: any Channel, loop: LoopContext) throws {
        try channel.pipeline.syncOperations.addHandler(ClientHandler(loop: loop))
        loop.register(channel)
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            loop.unregister(channel)
        }
    }

    /// Lets open exchanges finish (idle connections close at once), up to the drain timeout.
    private func drain() async {
        await forEachLoop { $0.startDraining() }
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while ContinuousClock.now < deadline {
            let open = await forEachLoop { $0.connectionCount }.reduce(0, +)
            if open == 0 {
                break
            }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                break
            }
        }
        await forEachLoop { $0.closeAllConnections() }
    }

    /// Runs `body` on every event loop with its context and collects the results.
    @discardableResult
    func forEachLoop<Result: Sendable>(_ body: @escaping @Sendable (LoopContext) -> Result) async -> [Result] {
        var results: [Result] = []
        for box in loops.values {
            if let result = try? await box.eventLoop.submit({ body(box.value) }).get() {
                results.append(result)
            }
        }
        return results
    }
}
