import ArgumentParser
import Docker
import Foundation
import Logging
import MiniCore
import Proxy
import Queue
import Store

/// Where the data lives.
struct DataOptions: ParsableArguments {
    @Option(help: "Folder for the database, uploads and build logs.")
    var dataDir: String = "./data"

    var dataDirectory: DataDirectory { DataDirectory(dataDir) }

    /// Creates the folder if needed and opens the database (``DataDirectory/prepareAndOpenDatabase()``).
    func open() throws -> (DataDirectory, MiniDatabase) {
        let directory = dataDirectory
        return (directory, try directory.prepareAndOpenDatabase())
    }
}

/// How to reach the Docker engine.
struct DockerOptions: ParsableArguments {
    @Option(help: "The Docker engine's unix socket.")
    var dockerSocket: String = "/var/run/docker.sock"
}

/// The API listener.
struct APIOptions: ParsableArguments {
    @Option(
        help:
            "Address the API listens on (minid serve's proxy too, unless --proxy-bind); anything but loopback exposes it (default: 127.0.0.1).",
        transform: ListenAddress.withoutBrackets
    )
    var bind: String = "127.0.0.1"

    /// The API's URL, as `mini config set-host` takes it.
    var url: String { "http://\(ListenAddress.urlHost(bind)):\(apiPort)" }

    @Option(help: "Port of the HTTP API.")
    var apiPort: Int = 7070

    @Option(
        name: .customLong("api-idle-timeout"),
        help: ArgumentHelp(
            "Seconds the API keeps a connection that sends nothing.",
            discussion:
                "Idle between requests or stalled inside a request; a response being written, such as a followed log, is never cut."
        )
    )
    var idleTimeoutSeconds: Int = 60

    @Option(help: "Largest accepted upload in bytes (larger ones get 413).")
    var maxUpload: Int64 = 1 << 30

    @Option(help: "Most bytes of file content an upload may unpack to (larger ones get 413).")
    var maxContext: Int64 = 8 << 30

    @Option(help: "Most entries (files, directories, links) an upload may hold (more get 413).")
    var maxContextEntries: Int = 1_000_000

    func validate() throws {
        try requirePort(apiPort, option: "--api-port")
        guard idleTimeoutSeconds > 0 else {
            throw ValidationError("--api-idle-timeout takes a number of seconds above 0")
        }
        for (option, value) in [
            ("--max-upload", maxUpload), ("--max-context", maxContext),
            ("--max-context-entries", Int64(maxContextEntries)),
        ] where value < 1 {
            throw ValidationError("\(option) must be at least 1")
        }
    }

    /// Checks that the API can listen where asked (``ListenCheck``).
    func ensureListenable() async throws {
        try await ListenCheck.ensureAvailable(host: bind, port: apiPort, for: "the API", option: "--api-port")
    }
}

/// Where apps are served: the proxy's port and the domain, which make app URLs.
struct AppAddressOptions: ParsableArguments {
    @Option(help: "Port the proxy serves apps on (minid api: the port app URLs name).")
    var proxyPort: Int = 8080

    @Option(
        help:
            "The port clients reach the proxy on when something in front forwards it to --proxy-port (a firewall's 80 to 8080): app URLs name it (default: --proxy-port)."
    )
    var publicPort: Int?

    @Option(help: "Apps are served at <app>.<domain>.")
    var domain: String = "localhost"

    /// The port app URLs name.
    var urlPort: Int { publicPort ?? proxyPort }

    func validate() throws {
        try requirePort(proxyPort, option: "--proxy-port")
        if let publicPort { try requirePort(publicPort, option: "--public-port") }
        try Self.validate(domain: domain)
    }

    /// Refuses a `--domain` under which `<app>.<domain>` is no host name.
    static func validate(domain: String) throws {
        guard (try? DomainName("app.\(domain)")) != nil else {
            throw ValidationError(
                "--domain '\(domain)' is not a domain apps can be served under: give a host name such as "
                    + "example.com or localhost, without a scheme, port, leading or trailing dot")
        }
    }
}

/// The proxy listener.
struct ProxyOptions: ParsableArguments {
    @OptionGroup var address: AppAddressOptions

    @Option(
        help: "Address the proxy listens on (default: --bind's), such as 0.0.0.0 to serve apps publicly.",
        transform: ListenAddress.withoutBrackets)
    var proxyBind: String?

    @OptionGroup var trust: TrustedProxyOptions

    @OptionGroup var tunnels: TunnelOptions

    @OptionGroup var tls: TLSOptions

    @Flag(inversion: .prefixedNo, help: "Log one line per proxied request.")
    var accessLog: Bool = true

    func validate() throws {
        try tls.validate(plainPort: address.proxyPort, plainOption: "--proxy-port")
    }
}

/// The proxy's HTTPS listener.
struct TLSOptions: ParsableArguments {
    @Option(help: "Port of an HTTPS listener beside the plain one (443 needs CAP_NET_BIND_SERVICE); needs --tls-certs.")
    var tlsPort: Int?

    @Option(
        help: ArgumentHelp(
            "Folder of the certificates to serve over HTTPS: NAME.crt and NAME.key pairs (PEM), or certbot's live folder.",
            discussion:
                "Each is served for the DNS names in its subjectAltName (SNI); the first by name for the rest. Changes are picked up within 10 seconds."
        )
    )
    var tlsCerts: String?

    @Flag(help: "Answer plain-HTTP requests for apps with a redirect (308) to HTTPS; needs --tls-port.")
    var redirectHTTPS = false

    @Option(
        help:
            "The port clients reach HTTPS on when something in front forwards it to --tls-port (443 to 8443): redirects and https app URLs name it (default: --tls-port)."
    )
    var tlsPublicPort: Int?

    /// Checks the options together; the plain listener's port must differ from the HTTPS one.
    func validate(plainPort: Int, plainOption: String) throws {
        guard let tlsPort else {
            guard tlsCerts == nil, !redirectHTTPS, tlsPublicPort == nil else {
                throw ValidationError(
                    "--tls-certs, --redirect-https and --tls-public-port need --tls-port, the port to serve HTTPS on")
            }
            return
        }
        try requirePort(tlsPort, option: "--tls-port")
        if let tlsPublicPort { try requirePort(tlsPublicPort, option: "--tls-public-port") }
        guard tlsCerts != nil else {
            throw ValidationError("--tls-port needs --tls-certs, the folder of the certificates to serve")
        }
        guard tlsPort != plainPort else { throw ValidationError("--tls-port must differ from \(plainOption)") }
    }

    /// Loads the certificates (throws ``CertificateError`` saying what to fix) and checks that
    /// the port is free; nil without `--tls-port`.
    func listener(host: String) async throws -> ProxyConfiguration.TLS? {
        guard let tlsPort, let tlsCerts else { return nil }
        try await ListenCheck.ensureAvailable(host: host, port: tlsPort, for: "the HTTPS proxy", option: "--tls-port")
        return ProxyConfiguration.TLS(
            port: tlsPort, publicPort: tlsPublicPort, certificates: try CertificateStore(folder: tlsCerts),
            redirectsHTTP: redirectHTTPS)
    }
}

/// Upgraded connections (WebSockets) through the proxy.
struct TunnelOptions: ParsableArguments {
    @Option(
        name: .customLong("tunnel-idle-timeout"),
        help: ArgumentHelp(
            "Seconds a WebSocket (any upgraded connection) may carry nothing before the proxy closes it.",
            discussion: "Counts bytes in either direction; WebSocket pings keep a tunnel open."
        )
    )
    var idleTimeoutSeconds: Int = 600

    func validate() throws {
        guard idleTimeoutSeconds > 0 else {
            throw ValidationError("--tunnel-idle-timeout takes a number of seconds above 0")
        }
    }
}

/// Proxies in front of mini's proxy.
struct TrustedProxyOptions: ParsableArguments {
    @Option(
        name: .customLong("trusted-proxy"),
        help: "An IP or CIDR range (10.0.0.0/8) of a proxy in front whose X-Forwarded-* are kept (repeatable)."
    )
    var trustedProxies: [String] = []

    func validate() throws {
        for entry in trustedProxies where AddressRange(entry) == nil {
            throw ValidationError(
                "--trusted-proxy '\(entry)' is neither an IP address nor a CIDR range like 10.0.0.0/8")
        }
    }
}

/// Build settings of a worker.
struct BuildOptions: ParsableArguments {
    @Option(help: "A build running longer than this many seconds fails as 'timed out'.")
    var buildTimeout: Int = 15 * 60

    @Option(help: "Memory limit of each build step, such as 2g or 512m (default: none).")
    var buildMemory: String?

    @Option(help: "Seconds a new release may take to answer its health check.")
    var healthTimeout: Int = 60

    @Option(
        help: ArgumentHelp(
            "Host ports (on 127.0.0.1) instances are published on, as FIRST-LAST (default: 20000-29999).",
            discussion: "Keep it below the kernel's ephemeral range (net.ipv4.ip_local_port_range).",
            valueName: "first-last"),
        transform: parsePortRange)
    var instancePorts: ClosedRange<Int> = PortAllocator.defaultRange

    func validate() throws {
        guard buildTimeout >= 1 else { throw ValidationError("--build-timeout takes a number of seconds above 0") }
        guard healthTimeout >= 1 else { throw ValidationError("--health-timeout takes a number of seconds above 0") }
    }

    /// A warning when ``instancePorts`` overlaps the kernel's ephemeral range: a port the
    /// kernel has handed to an outgoing connection cannot be published, and instances then
    /// need another try. Nil when they are apart, or the range cannot be read.
    func ephemeralOverlapWarning(rangeFile: String = "/proc/sys/net/ipv4/ip_local_port_range") -> String? {
        guard let text = try? String(contentsOfFile: rangeFile, encoding: .utf8) else { return nil }
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1], instancePorts.overlaps(bounds[0]...bounds[1]) else {
            return nil
        }
        return "--instance-ports \(instancePorts.lowerBound)-\(instancePorts.upperBound) overlaps the kernel's "
            + "ephemeral ports \(bounds[0])-\(bounds[1]) (net.ipv4.ip_local_port_range), which outgoing "
            + "connections take: choose ports below \(bounds[0])"
    }
}

/// Reads `FIRST-LAST` (unprivileged ports) for `--instance-ports`.
private func parsePortRange(_ text: String) throws -> ClosedRange<Int> {
    let bounds = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
    guard bounds.count == 2, let first = bounds[0], let last = bounds[1], 1024 <= first, first <= last, last <= 65535
    else {
        throw ValidationError("--instance-ports wants FIRST-LAST within 1024-65535, such as 20000-29999; got \(text)")
    }
    return first...last
}

/// Queue settings, shared by every process on the same data folder.
struct QueueOptions: ParsableArguments {
    @Option(help: "Seconds a worker's claim on a job lasts without a heartbeat (it beats every third).")
    var leaseSeconds: Double = 30

    func validate() throws {
        guard leaseSeconds >= 1 else { throw ValidationError("--lease-seconds must be at least 1") }
    }

    func queue(_ database: MiniDatabase) -> JobQueue {
        var configuration = JobQueue.Configuration()
        configuration.leaseDuration = leaseSeconds
        return JobQueue(database: database, configuration: configuration)
    }
}

/// The queue's janitor: which ended jobs it keeps. Only the roles that run it (serve, api)
/// take it.
struct RetentionOptions: ParsableArguments {
    @Option(help: "Ended jobs kept per app, with their build logs.")
    var keepJobs: Int = 20

    func validate() throws {
        guard keepJobs >= 1 else { throw ValidationError("--keep-jobs must be at least 1") }
    }

    func janitor(_ queue: JobQueue, directory: DataDirectory, logger: Logger) -> QueueJanitor {
        QueueJanitor(queue: queue, dataDirectory: directory, keepPerApp: keepJobs, logger: logger)
    }
}

/// Refuses a port number outside 1–65535 (NIO would take it modulo 65536, and 0 for any).
func requirePort(_ port: Int, option: String) throws {
    guard (1...65535).contains(port) else {
        throw ValidationError("\(option) takes a port from 1 to 65535; got \(port)")
    }
}

/// Logging.
struct LogOptions: ParsableArguments {
    @Option(
        help: "Log level: trace, debug, info (the default), notice, warning, error, critical.",
        transform: LogOptions.parseLevel)
    var logLevel: Logger.Level = .info

    private static func parseLevel(_ text: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError(
                "'\(text)' is not a log level; use trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }
}

/// Parses sizes such as `512m`, `2g`, `1048576`.
func parseByteSize(_ text: String) throws -> Int64 {
    guard let bytes = ByteSize.parse(text) else {
        throw ValidationError("'\(text)' is not a size; use bytes or a number with k, m or g")
    }
    return bytes
}

/// Listen addresses as given and as URLs show them.
enum ListenAddress {
    /// `::1` for `[::1]`, as URLs write IPv6 addresses: the form a listener takes.
    static func withoutBrackets(_ text: String) -> String {
        text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
    }

    /// The address as a URL's host: an IPv6 one in brackets.
    static func urlHost(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }
}
