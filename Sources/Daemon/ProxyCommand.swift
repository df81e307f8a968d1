import API
import ArgumentParser
import Hummingbird
import Logging
import Proxy
import ServiceLifecycle
import Store

/// `minid proxy`: the reverse proxy alone, with routes from the store and static routes.
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy", abstract: "Run the reverse proxy alone."
    )

    @Option(help: "Folder of the database to read app routes from (omit for static routes only).")
    var dataDir: String?

    @Option(help: "Address to listen on.", transform: ListenAddress.withoutBrackets)
    var bind: String = "127.0.0.1"

    @Option(help: "Port to listen on (80 needs CAP_NET_BIND_SERVICE).")
    var port: Int = 8080

    @Option(help: "Apps are served at <app>.<domain>.")
    var domain: String = "localhost"

    @Option(name: .customLong("route"), help: "A static route HOST=127.0.0.1:PORT (repeatable).")
    var routes: [String] = []

    @Flag(inversion: .prefixedNo, help: "Log one line per request.")
    var accessLog: Bool = true

    @Option(
        help: ArgumentHelp(
            "Port for GET /metrics: the proxy's requests per app, latencies, requests in flight.",
            discussion: "On the --bind address; it takes the API's tokens, so it needs --data-dir."
        )
    )
    var metricsPort: Int?

    @OptionGroup var trust: TrustedProxyOptions

    @OptionGroup var tunnels: TunnelOptions

    @OptionGroup var tls: TLSOptions

    @OptionGroup var log: LogOptions

    func validate() throws {
        try requirePort(port, option: "--port")
        if let metricsPort { try requirePort(metricsPort, option: "--metrics-port") }
        _ = try parseStaticRoutes(routes)
        try AppAddressOptions.validate(domain: domain)
        guard metricsPort == nil || dataDir != nil else {
            throw ValidationError("--metrics-port takes the API's tokens: give the data folder with --data-dir")
        }
        guard metricsPort != port else { throw ValidationError("--metrics-port must differ from --port") }
        try tls.validate(plainPort: port, plainOption: "--port")
        guard metricsPort == nil || metricsPort != tls.tlsPort else {
            throw ValidationError("--metrics-port must differ from --tls-port")
        }
    }

    func run() async throws {
        let logger = log.logger("minid.proxy")
        try await ListenCheck.ensureAvailable(host: bind, port: port, for: "the proxy", option: "--port")
        if let metricsPort {
            try await ListenCheck.ensureAvailable(
                host: bind, port: metricsPort, for: "the metrics port", option: "--metrics-port")
        }
        let server = makeProxyServer(
            bind: bind, port: port, domain: domain, trust: trust, tunnels: tunnels,
            tls: try await tls.listener(host: bind), accessLog: accessLog, logger: logger)
        let staticRoutes = try parseStaticRoutes(routes)
        var services: [any Service] = [server]
        if let dataDir {
            let directory = DataDirectory(dataDir)
            try await ListenCheck.ensureNoOtherProxy(on: directory)
            let database = try directory.prepareAndOpenDatabase()
            let routeSync = RouteSync(
                apps: AppStore(database: database), proxy: server, staticRoutes: staticRoutes, logger: logger)
            await routeSync.warnAboutDomains(under: domain)
            await routeSync.applyStoredRoutes()
            services.append(routeSync)
            services.append(
                ProxyControlServer(socketPath: directory.proxyControlSocketPath, proxy: server, logger: logger)
            )
            if let metricsPort {
                let router = makeMetricsRouter(database: database, metrics: server.appendMetrics)
                services.append(
                    Application(
                        router: router,
                        // Scrapers that send nothing are let go, as by the API.
                        server: .http1(configuration: .init(idleTimeout: .seconds(60))),
                        configuration: .init(address: .hostname(bind, port: metricsPort), serverName: "minid"),
                        logger: logger
                    )
                )
            }
        } else {
            server.updateRoutes(RouteTable(staticRoutes: staticRoutes))
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func parseStaticRoutes(_ routes: [String]) throws -> [String: [Upstream]] {
        var table: [String: [Upstream]] = [:]
        for route in routes {
            let parts = route.split(separator: "=", maxSplits: 1).map(String.init)
            let target = parts.count == 2 ? parts[1].split(separator: ":").map(String.init) : []
            guard parts.count == 2, target.count == 2, let port = Int(target[1]), (1...65535).contains(port) else {
                throw ValidationError("--route '\(route)' must look like HOST=127.0.0.1:PORT")
            }
            table[parts[0].lowercased(), default: []].append(Upstream(host: target[0], port: port))
        }
        return table
    }
}

/// The proxy server for the given listener settings.
func makeProxyServer(
    bind: String, port: Int, domain: String, trust: TrustedProxyOptions, tunnels: TunnelOptions,
    tls: ProxyConfiguration.TLS?, accessLog: Bool = true, logger: Logger
) -> ProxyServer {
    var configuration = ProxyConfiguration()
    configuration.host = bind
    configuration.port = port
    configuration.domain = domain
    configuration.accessLog = accessLog
    configuration.trustedProxies = Set(trust.trustedProxies)
    configuration.tunnelIdleTimeout = .seconds(tunnels.idleTimeoutSeconds)
    configuration.tls = tls
    return ProxyServer(configuration: configuration, logger: logger)
}
