extension ProxyConfiguration {
    /// An HTTPS listener beside the plain one: the proxy terminates TLS and forwards plain
    /// HTTP/1.1 to apps, with `X-Forwarded-Proto: https`.
    public struct TLS: Sendable {
        /// The port to listen on (443 needs the capability to bind it); `0` picks a free port
        /// (see ``ProxyServer/boundTLSPort()``).
        public var port: Int
        /// The port clients reach HTTPS on, when something in front forwards it to ``port``
        /// (443 to 8443): redirects name it. Default nil: ``port``, once bound.
        public var publicPort: Int?
        /// The port app URLs name: ``publicPort``, else ``port``.
        public var urlPort: Int { publicPort ?? port }
        /// The certificates to serve, picked by the name the client asks for.
        public var certificates: CertificateStore
        /// Whether plain-HTTP requests for apps are answered with `308 Permanent Redirect` to
        /// the same URL over HTTPS. Requests from trusted proxies (``ProxyConfiguration/trustedProxies``)
        /// are not: a proxy in front may have terminated TLS itself.
        public var redirectsHTTP: Bool
        /// How often the certificate folder is checked for changes (renewals). Default 10 s.
        public var reloadInterval: Duration

        /// Creates the settings of an HTTPS listener; every argument but the certificates has
        /// the documented default.
        public init(
            port: Int = 8443, publicPort: Int? = nil, certificates: CertificateStore, redirectsHTTP: Bool = false,
            reloadInterval: Duration = .seconds(10)
        ) {
            self.port = port
            self.publicPort = publicPort
            self.certificates = certificates
            self.redirectsHTTP = redirectsHTTP
            self.reloadInterval = reloadInterval
        }
    }
}
