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
        await cancelWhenGracefulShutdown {
            var version = -1
            // None yet: the first read is applied whatever it holds (the routes may have
            // changed since applyStoredRoutes()).
            var current: RouteTable?
            var failing = false
            while !Task.isCancelled {
                // A read that fails (a locked or full disk, say) keeps the routes the proxy
                // has and is tried again: the proxy serves on meanwhile.
                do {
                    let seen = try observer.version()
                    if seen != version {
                        let table = try await makeTable()
                        version = seen
                        if table != current {
                            proxy.updateRoutes(table)
                            current = table
                            logger.debug("routes updated", metadata: ["apps": "\(table.apps.count)"])
                        }
                    }
                    if failing {
                        failing = false
                        logger.info("routes read again from the store")
                    }
                    _ = try await observer.waitForChange(since: seen, timeout: .seconds(5), interval: interval)
                } catch is CancellationError {
                    return  // a graceful shutdown
                } catch {
                    if !failing {
                        failing = true
                        logger.error(
                            "cannot read the routes; serving the last ones read, retrying",
                            metadata: ["error": "\(error)"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// Warns about custom domains under the apps' `domain`, where an app's own host
    /// (`<app>.<domain>`) is routed first: the API refuses to add one there, but a change of
    /// `--domain` can put earlier ones there.
    func warnAboutDomains(under domain: String) async {
        guard let domains = try? await apps.domainRoutes() else { return }
        let appsDomain = domain.lowercased()
        for (host, app) in domains.sorted(by: { $0.key < $1.key })
        where host == appsDomain || host.hasSuffix("." + appsDomain) {
            logger.warning(
                "a custom domain is under --domain, where the apps' own hosts are routed first; remove it",
                metadata: ["domain": "\(host)", "app": "\(app)", "remove": "mini domains remove \(app) \(host)"])
        }
    }

    /// Gives the proxy the store's routes once, before it listens: it would otherwise answer
    /// 404 ("no app here") for every app until the first read of ``run()``. A read that fails
    /// is logged, and ``run()`` tries again.
    func applyStoredRoutes() async {
        do {
            proxy.updateRoutes(try await makeTable())
        } catch {
            proxy.updateRoutes(RouteTable(staticRoutes: staticRoutes))
            logger.error("cannot read the routes before serving; retrying", metadata: ["error": "\(error)"])
        }
    }

    private func makeTable() async throws -> RouteTable {
        let routes = try await apps.routes()
        let apps = routes.mapValues { instances in instances.map { Upstream(host: $0.host, port: $0.port) } }
        return RouteTable(
            apps: apps, domains: try await self.apps.domainRoutes(), staticRoutes: staticRoutes,
            maintenance: try await self.apps.appsInMaintenance())
    }
}
