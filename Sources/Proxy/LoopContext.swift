import Logging
import NIOCore

/// Everything one event loop needs to proxy: its copy of the route table, its upstream pools,
/// its counters and its client connections. Touched only on its event loop, so the hot path
/// takes no lock and shares no cache line with other loops.
final class LoopContext {
    let eventLoop: any EventLoop
    let settings: ProxySettings
    let logger: Logger
    /// Requests whose host matched no route.
    var unrouted = StatusClassCounts()
    var requestIDs = RequestIDGenerator()
    /// Set by a graceful shutdown: connections close after their current exchange.
    private(set) var isDraining = false
    /// Where plain-HTTP requests for apps go when they are redirected to HTTPS
    /// (``ProxyConfiguration/TLS/redirectsHTTP``): the HTTPS listener's port, set once it is
    /// bound, and its certificates, since only hosts one covers are redirected.
    var httpsRedirect: (port: Int, certificates: CertificateStore)?

    private var routes: [String: LoopRoute] = [:]
    private var pools: [Upstream: UpstreamPool] = [:]
    private var counters: [String: RouteCounters] = [:]
    private var connections: [ObjectIdentifier: any Channel] = [:]

    init(eventLoop: any EventLoop, settings: ProxySettings, logger: Logger) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.logger = logger
    }

    /// Counts route table swaps, so that connections know when a route they remember is stale.
    private(set) var routeGeneration = 0

    /// The route for a `Host` header value given as bytes (port, case and trailing dot ignored).
    func route(forHost host: UnsafeRawBufferPointer) -> LoopRoute? {
        routes[HostName.key(host)]
    }

    /// Replaces the route table. Pools of upstreams that stay are kept with their connections;
    /// pools of upstreams that left close their idle connections, and their in-flight requests
    /// finish on the connections they have. The counters of an app that left (destroyed) go,
    /// so `/metrics` stops showing it.
    func apply(_ table: RouteTable) {
        var newRoutes: [String: LoopRoute] = [:]
        var routed = Set<Upstream>()
        func makeRoute(name: String, upstreams: [Upstream], inMaintenance: Bool = false) -> LoopRoute {
            routed.formUnion(upstreams)
            return LoopRoute(
                name: name, pools: upstreams.map(pool(for:)), counters: counters(for: name),
                inMaintenance: inMaintenance)
        }
        var appRoutes: [String: LoopRoute] = [:]
        for (app, upstreams) in table.apps {
            let name = HostName.normalize(app)
            let route = makeRoute(name: name, upstreams: upstreams, inMaintenance: table.maintenance.contains(app))
            appRoutes[name] = route
            newRoutes[name + settings.domainSuffix] = route
        }
        for (host, app) in table.domains {
            let host = HostName.normalize(host)
            // An app's own host is never taken over by another app's custom domain.
            if let route = appRoutes[HostName.normalize(app)], newRoutes[host] == nil {
                newRoutes[host] = route
            }
        }
        for (host, upstreams) in table.staticRoutes {
            let name = HostName.normalize(host)
            newRoutes[name] = makeRoute(name: name, upstreams: upstreams)
        }
        routes = newRoutes
        routeGeneration += 1
        let named = Set(newRoutes.values.map(\.name))
        counters = counters.filter { named.contains($0.key) }
        for (upstream, pool) in pools where !routed.contains(upstream) {
            pool.setRetired(true)
        }
        pruneRetiredPools()
    }

    private func pool(for upstream: Upstream) -> UpstreamPool {
        if let pool = pools[upstream] {
            pool.setRetired(false)
            return pool
        }
        let pool = UpstreamPool(
            upstream: upstream,
            eventLoop: eventLoop,
            connectTimeout: settings.connectTimeout,
            maxIdle: settings.maxIdleConnectionsPerUpstream
        )
        pools[upstream] = pool
        return pool
    }

    private func counters(for name: String) -> RouteCounters {
        if let existing = counters[name] {
            return existing
        }
        let created = RouteCounters()
        counters[name] = created
        return created
    }

    /// `pool`, tracked again if it was dropped: a retry can reach an instance whose upstream
    /// left the route table after the request arrived, and draining must count that request.
    /// (If its upstream came back meanwhile, the pool now kept for it is used instead.)
    func tracked(_ pool: UpstreamPool) -> UpstreamPool {
        if let kept = pools[pool.upstream] {
            return kept
        }
        pools[pool.upstream] = pool
        return pool
    }

    private func pruneRetiredPools() {
        pools = pools.filter { !$0.value.isRetired || $0.value.inFlight > 0 }
    }

    /// This loop's part of ``ProxyServer/drainState(of:)``: requests in flight to `upstreams`
    /// (their pools, retired ones included, count them), how many its route table still sends
    /// requests to, and how many it does not yet.
    func drainState(of upstreams: [Upstream]) -> ProxyDrainState {
        var state = ProxyDrainState(inFlight: 0, stillRouted: 0)
        var notRouted = 0
        for upstream in upstreams {
            // Every routed upstream has a pool from the moment its route table is applied.
            guard let pool = pools[upstream] else {
                notRouted += 1
                continue
            }
            state.inFlight += pool.inFlight
            if pool.isRetired {
                notRouted += 1
            } else {
                state.stillRouted += 1
            }
        }
        state.notRouted = notRouted
        return state
    }

    /// This loop's counters and in-flight requests.
    func statistics() -> ProxyStatistics {
        pruneRetiredPools()
        var statistics = ProxyStatistics()
        statistics.unrouted = unrouted
        for (name, counter) in counters {
            statistics.routes[name] = counter.counts
            statistics.latencies[name] = counter.latency
        }
        for (upstream, pool) in pools where pool.inFlight > 0 {
            statistics.inFlight[upstream] = pool.inFlight
        }
        return statistics
    }

    // MARK: Client connections

    var connectionCount: Int { connections.count }

    func register(_ channel: any Channel) {
        connections[ObjectIdentifier(channel)] = channel
    }

    func unregister(_ channel: any Channel) {
        connections[ObjectIdentifier(channel)] = nil
    }

    /// Starts a graceful shutdown: idle connections close now, busy ones after their exchange.
    func startDraining() {
        isDraining = true
        for channel in connections.values {
            channel.pipeline.syncOperations.fireUserInboundEventTriggered(ProxyDrainEvent())
        }
        for pool in pools.values {
            pool.setRetired(true)
        }
    }

    /// Ends a graceful shutdown that ran out of time: closes every connection.
    func closeAllConnections() {
        for channel in connections.values {
            channel.close(promise: nil)
        }
        for pool in pools.values {
            pool.closeIdleConnections()
        }
    }
}

/// Sent through each client pipeline when the proxy shuts down gracefully.
struct ProxyDrainEvent: Sendable {}
