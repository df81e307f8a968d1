import NIOCore

/// ``ProxyConfiguration`` in the shapes the hot path wants, computed once.
struct ProxySettings: Sendable {
    /// `.` + the lowercased domain, appended to app names to make their host keys.
    let domainSuffix: String
    let connectTimeout: TimeAmount
    let responseHeaderTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let tunnelIdleTimeout: TimeAmount
    let maxHeaderBytes: Int
    let trustedProxies: [AddressRange]
    let accessLog: Bool
    let maxIdleConnectionsPerUpstream: Int

    init(_ configuration: ProxyConfiguration) {
        domainSuffix = "." + HostName.normalize(configuration.domain)
        connectTimeout = TimeAmount(configuration.connectTimeout)
        responseHeaderTimeout = TimeAmount(configuration.responseHeaderTimeout)
        idleTimeout = TimeAmount(configuration.idleTimeout)
        tunnelIdleTimeout = TimeAmount(configuration.tunnelIdleTimeout)
        // Heads are indexed with 32-bit offsets (``HeadFields``); no sane limit comes near.
        maxHeaderBytes = min(configuration.maxHeaderBytes, 1 << 24)
        trustedProxies = configuration.trustedProxies.compactMap(AddressRange.init)
        accessLog = configuration.accessLog
        maxIdleConnectionsPerUpstream = configuration.maxIdleConnectionsPerUpstream
    }
}
