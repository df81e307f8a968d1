/// Where the proxy sends each host. Replaced as a whole by ``ProxyServer/updateRoutes(_:)``.
public struct RouteTable: Sendable, Equatable {
    /// App name → its instances. `Host: <app>.<domain>` is balanced round-robin across them; an
    /// empty array means the app exists but has no healthy instance (503 with `Retry-After`).
    public var apps: [String: [Upstream]]
    /// Custom domain (a full host name) → the app it serves: the same instances, counters and
    /// round-robin as `<app>.<domain>`. Domains of unknown apps are ignored.
    public var domains: [String: String]
    /// Full host name of a service that is not an app → its upstreams. A static route wins
    /// over an app or a domain with the same host.
    public var staticRoutes: [String: [Upstream]]
    /// Apps in maintenance mode: their requests (through their custom domains too) get the
    /// maintenance page, 503 with `Retry-After`, while their instances run on.
    public var maintenance: Set<String>

    /// Creates a table; every part defaults to empty.
    public init(
        apps: [String: [Upstream]] = [:], domains: [String: String] = [:], staticRoutes: [String: [Upstream]] = [:],
        maintenance: Set<String> = []
    ) {
        self.apps = apps
        self.domains = domains
        self.staticRoutes = staticRoutes
        self.maintenance = maintenance
    }
}
