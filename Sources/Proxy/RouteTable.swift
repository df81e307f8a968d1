/// Where the proxy sends each host. Replaced as a whole by ``ProxyServer/updateRoutes(_:)``.
public struct RouteTable: Sendable, Equatable {
    /// App name → its instances. `Host: <app>.<domain>` is balanced round-robin across them; an
    /// empty array means the app exists but has no healthy instance (503 with `Retry-After`).
    public var apps: [String: [Upstream]]
    /// Full host name (a custom domain, or a service that is not an app) → its upstreams.
    /// A static route wins over an app with the same host.
    public var staticRoutes: [String: [Upstream]]

    /// Creates a table; both parts default to empty.
    public init(apps: [String: [Upstream]] = [:], staticRoutes: [String: [Upstream]] = [:]) {
        self.apps = apps
        self.staticRoutes = staticRoutes
    }
}
