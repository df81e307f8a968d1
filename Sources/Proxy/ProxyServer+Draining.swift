/// What a deploy needs to retire old instances safely, and what `/metrics` exports.
extension ProxyServer {
    /// The proxy's counters and in-flight requests, summed over its event loops.
    public func statistics() async -> ProxyStatistics {
        var total = ProxyStatistics()
        for statistics in await forEachLoop({ $0.statistics() }) {
            total.merge(statistics)
        }
        return total
    }

    /// Requests being forwarded right now (and open tunnels), per upstream.
    public func inFlightRequests() async -> [Upstream: Int] {
        await statistics().inFlight
    }

    /// Where `upstreams` stand: requests in flight to them, how many an event loop still
    /// routes to, and how many one does not route to yet.
    public func drainState(of upstreams: [Upstream]) async -> ProxyDrainState {
        var state = ProxyDrainState(inFlight: 0, stillRouted: 0)
        for loopState in await forEachLoop({ $0.drainState(of: upstreams) }) {
            state.inFlight += loopState.inFlight
            state.stillRouted += loopState.stillRouted
            state.notRouted = (state.notRouted ?? 0) + (loopState.notRouted ?? 0)
        }
        return state
    }

    /// Waits until no request or tunnel is in flight to any of `upstreams`, checking every 20 ms.
    ///
    /// Call it after ``updateRoutes(_:)`` has removed them: the check runs on every event loop
    /// after the route update, so no new request can start on them meanwhile. Returns false if
    /// `timeout` passed (or the task was cancelled) first; the caller may then stop the old
    /// instances anyway.
    public func waitUntilIdle(upstreams: [Upstream], timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            if await drainState(of: upstreams).inFlight == 0 {
                return true
            }
            guard ContinuousClock.now < deadline else {
                return false
            }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                return false
            }
        }
    }
}
