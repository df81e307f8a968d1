import Logging
import Proxy
import ServiceLifecycle
import Store

/// Keeps the proxy's routing table equal to the store's routes: reads them at start and
/// again within ~10 ms of any commit to the database, by any process (a read of
/// `PRAGMA data_version` every 10 ms, a few microseconds; the routes are read only after a
/// commit, and applied only when they changed).
struct RouteSync: Service {
    let apps: AppStore
    let proxy: ProxyServer
    /// Routes given on the command line, served beside the apps.
    let staticRoutes: [String: [Upstream]]
    let interval: Duration
    let logger: Logger

    init(
        apps: AppStore, proxy: ProxyServer, staticRoutes: [String: [Upstream]] = [:],
        interval: Duration = .milliseconds(10), logger: Logger
    ) {
        self.apps = apps
        self.proxy = proxy
        self.staticRoutes = staticRoutes
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        let observer = try apps.database.makeChangeObserver()
        try await cancelWhenGracefulShutdown {
            var version = -1
            var current = RouteTable()
            while !Task.isCancelled {
                let seen = try observer.version()
                if seen != version {
                    version = seen
                    let table = try makeTable()
                    if table != current {
                        proxy.updateRoutes(table)
                        current = table
                        logger.debug("routes updated", metadata: ["apps": "\(table.apps.count)"])
                    }
                }
                do {
                    _ = try await observer.waitForChange(since: seen, timeout: .seconds(5), interval: interval)
                } catch is CancellationError {
                    return  // a graceful shutdown
                }
            }
        }
    }

    private func makeTable() throws -> RouteTable {
        let routes = try apps.routes()
        let apps = routes.mapValues { instances in instances.map { Upstream(host: $0.host, port: $0.port) } }
        return RouteTable(apps: apps, domains: try self.apps.domainRoutes(), staticRoutes: staticRoutes)
    }
}
