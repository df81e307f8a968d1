#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A client connection's memory of the route its last request's `Host` led to, valid while
/// its loop's route table stays the same: a keep-alive client sends the same `Host` every
/// time, so most requests are routed by comparing bytes, without a key or a table lookup.
struct RouteCache {
    private var host: [UInt8] = []
    private var generation = -1
    private var route: LoopRoute?

    /// The route for the `Host` value `host` (as sent), from the cache or from `loop`.
    mutating func route(forHost host: UnsafeRawBufferPointer, in loop: LoopContext) -> LoopRoute? {
        if generation == loop.routeGeneration && matches(host) {
            return route
        }
        route = loop.route(forHost: host)
        generation = loop.routeGeneration
        self.host.removeAll(keepingCapacity: true)
        self.host.append(contentsOf: host)
        return route
    }

    private func matches(_ candidate: UnsafeRawBufferPointer) -> Bool {
        host.withUnsafeBytes { host in
            host.count == candidate.count
                && (host.isEmpty || memcmp(host.baseAddress!, candidate.baseAddress!, host.count) == 0)
        }
    }
}
