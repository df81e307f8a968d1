/// How the edge proxy listens, times out and logs.
///
/// Every field has a default, so `ProxyConfiguration()` is a working proxy on `127.0.0.1:8080`
/// for `<app>.localhost`.
public struct ProxyConfiguration: Sendable {
    /// The address to listen on. Keep it on loopback unless a front door is meant to be public.
    public var host: String
    /// The port to listen on; `0` picks a free port (see ``ProxyServer/boundPort()``).
    public var port: Int
    /// The domain apps live under: `Host: <app>.<domain>` reaches app `<app>`.
    public var domain: String
    /// How long to wait for a TCP connection to an upstream before trying the next instance
    /// (and finally answering 504).
    public var connectTimeout: Duration
    /// How long an upstream may take to start its response (status line and headers) once the
    /// request has been sent, before the client gets 504.
    public var responseHeaderTimeout: Duration
    /// How long a client connection may sit without progress: waiting for (the rest of) a
    /// request head on a kept-alive connection, or a body stalled in either direction. Slow or
    /// stalled clients are cut after this.
    public var idleTimeout: Duration
    /// How long an upgraded connection (a WebSocket) may carry no byte in either direction
    /// before both its ends are closed. WebSocket libraries ping every 25–60 s, so this only
    /// cuts tunnels whose peers are gone without a word (nginx's `proxy_read_timeout`).
    public var tunnelIdleTimeout: Duration
    /// The most bytes a request head (request line and header fields) may take; larger ones get
    /// 431 and the connection is closed.
    public var maxHeaderBytes: Int
    /// Proxies in front of this one, as IP addresses or CIDR ranges (`127.0.0.1`,
    /// `10.0.0.0/8`, `fd00::/8`), whose `X-Forwarded-For`, `-Proto` and `-Host` are kept (and
    /// appended to). From any other peer those headers are replaced. Entries that are neither
    /// are ignored; `minid` refuses them when it starts.
    public var trustedProxies: Set<String>
    /// Whether to log one line per request (app, status, bytes, duration, upstream).
    public var accessLog: Bool
    /// How long a graceful shutdown waits for in-flight requests and open tunnels before it
    /// closes them.
    public var drainTimeout: Duration
    /// The most idle keep-alive connections kept per upstream and event loop. Default 512:
    /// under 1,000 concurrent clients a cap of 64 (nginx's usual `keepalive 64`) made a third
    /// of all requests open a new upstream connection; the app closes idle ones it does not
    /// want (its keep-alive timeout), and the pool forgets them.
    public var maxIdleConnectionsPerUpstream: Int
    /// An HTTPS listener besides the plain one (default: none).
    public var tls: TLS?

    /// Creates a configuration; every argument has the documented default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        domain: String = "localhost",
        connectTimeout: Duration = .seconds(5),
        responseHeaderTimeout: Duration = .seconds(60),
        idleTimeout: Duration = .seconds(60),
        tunnelIdleTimeout: Duration = .seconds(600),
        maxHeaderBytes: Int = 32 * 1024,
        trustedProxies: Set<String> = [],
        accessLog: Bool = true,
        drainTimeout: Duration = .seconds(30),
        maxIdleConnectionsPerUpstream: Int = 512,
        tls: TLS? = nil
    ) {
        self.host = host
        self.port = port
        self.domain = domain
        self.connectTimeout = connectTimeout
        self.responseHeaderTimeout = responseHeaderTimeout
        self.idleTimeout = idleTimeout
        self.tunnelIdleTimeout = tunnelIdleTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.trustedProxies = trustedProxies
        self.accessLog = accessLog
        self.drainTimeout = drainTimeout
        self.maxIdleConnectionsPerUpstream = maxIdleConnectionsPerUpstream
        self.tls = tls
    }
}
