import Logging
import NIOCore
import NIOPosix
import NIOSSL
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
    private let tlsBound: EventLoopPromise<Int?>

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
        self.tlsBound = eventLoopGroup.any().makePromise(of: Int?.self)
    }

    deinit {
        // No-op when the server did bind.
        bound.fail(ProxyError.notRunning)
        tlsBound.fail(ProxyError.notRunning)
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

    /// The port the HTTPS listener listens on once ``run()`` has bound it, nil without one.
    public func boundTLSPort() async throws -> Int? {
        try await tlsBound.futureResult.get()
    }

    /// Binds and serves until a graceful shutdown (then drains) or cancellation (then closes
    /// everything at once).
    public func run() async throws {
        let listeners: [any Channel]
        do {
            listeners = try await bindListeners()
        } catch {
            bound.fail(error)
            tlsBound.fail(error)
            throw error
        }
        await withDiscardingTaskGroup { group in
            if let tls = configuration.tls {
                group.addTask { await self.reloadCertificates(tls) }
            }
            // Cancelled rather than shut down gracefully: no draining.
            let drains = (try? await gracefulShutdown()) != nil
            for listener in listeners { try? await listener.close() }
            if drains {
                await drain()
            } else {
                await forEachLoop { $0.closeAllConnections() }
            }
            group.cancelAll()
        }
    }

    /// Binds the HTTPS listener when configured, then the plain one (which redirects to the
    /// first from its first request, when asked to); reports their ports.
    private func bindListeners() async throws -> [any Channel] {
        let host = configuration.host
        var listeners: [any Channel] = []
        var tlsPort: Int?
        if let tls = configuration.tls {
            let context = try tls.certificates.makeServerContext()
            let secure = try await makeBootstrap(tls: context).bind(host: host, port: tls.port).get()
            let port = secure.localAddress?.port ?? tls.port
            if tls.redirectsHTTP {
                await forEachLoop { $0.httpsRedirect = (tls.publicPort ?? port, tls.certificates) }
            }
            listeners.append(secure)
            tlsPort = port
        }
        let plain: any Channel
        do {
            plain = try await makeBootstrap(tls: nil).bind(host: host, port: configuration.port).get()
        } catch {
            for listener in listeners { try? await listener.close() }
            throw error
        }
        listeners.append(plain)
        let port = plain.localAddress?.port ?? configuration.port
        bound.succeed(port)
        tlsBound.succeed(tlsPort)
        var metadata: Logger.Metadata = ["address": "\(host):\(port)", "domain": "\(configuration.domain)"]
        metadata["https"] = tlsPort.map { "\(host):\($0)" }
        logger.info("proxy listening", metadata: metadata)
        configuration.tls?.certificates.log(to: logger)
        return listeners
    }

    /// Checks the certificate folder every ``ProxyConfiguration/TLS/reloadInterval`` and
    /// serves what changed from the next handshake on; warns once a day about certificates
    /// close to their end (a renewal that silently stopped changes nothing in the folder).
    private func reloadCertificates(_ tls: ProxyConfiguration.TLS) async {
        var lastExpiryCheck = ContinuousClock.now
        while (try? await Task.sleep(for: tls.reloadInterval)) != nil {
            do {
                let reload = try tls.certificates.reloadIfChanged()
                for problem in reload.problems {
                    logger.error(
                        "certificate not reloaded, serving its last good version if it had one",
                        metadata: ["folder": "\(tls.certificates.folder)", "error": "\(problem)"])
                }
                if reload.changed {
                    tls.certificates.log(to: logger)
                    lastExpiryCheck = .now
                }
            } catch {
                logger.error(
                    "certificates not reloaded, serving the ones loaded before",
                    metadata: ["folder": "\(tls.certificates.folder)", "error": "\(error)"])
            }
            if ContinuousClock.now - lastExpiryCheck > .seconds(24 * 3600) {
                tls.certificates.log(to: logger, onlyWarnings: true)
                lastExpiryCheck = .now
            }
        }
    }

    private func makeBootstrap(tls: NIOSSLContext?) -> ServerBootstrap {
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
                    try Self.configureClientPipeline(channel, loop: box.value, tls: tls)
                }
            }
    }

    private static func configureClientPipeline(_ channel: any Channel, loop: LoopContext, tls: NIOSSLContext?) throws {
        if let tls {
            try channel.pipeline.syncOperations.addHandlers(
                PlainHTTPDetector(loop: loop), NIOSSLServerHandler(context: tls))
        }
        try channel.pipeline.syncOperations.addHandler(ClientHandler(loop: loop, isTLS: tls != nil))
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
