/// One route as one event loop sees it: its upstream pools, balanced round-robin, and its
/// counters.
final class LoopRoute {
    /// The app name, or the host of a static route; used in logs and statistics.
    let name: String
    /// One pool per instance; empty when the app has no healthy instance.
    let pools: [UpstreamPool]
    let counters: RouteCounters
    /// The app is in maintenance mode: its requests get the maintenance page.
    let inMaintenance: Bool
    private var cursor = 0

    init(name: String, pools: [UpstreamPool], counters: RouteCounters, inMaintenance: Bool = false) {
        self.name = name
        self.pools = pools
        self.counters = counters
        self.inMaintenance = inMaintenance
    }

    /// The index of the instance the next request goes to. Requires a non-empty `pools`.
    func nextPoolIndex() -> Int {
        let index = cursor
        cursor = (cursor + 1) % pools.count
        return index
    }

    /// The instance a request that failed on `index` tries next: the following one the routes
    /// still have (a request holds the route it came with, whose instances may have left since
    /// and be stopping), else simply the following one.
    func retryPoolIndex(after index: Int) -> Int {
        for step in 1..<max(pools.count, 1) where !pools[(index + step) % pools.count].isRetired {
            return (index + step) % pools.count
        }
        return (index + 1) % pools.count
    }
}
