import NIOSSL

/// Whether `error` is NIOSSL's report of a TLS peer that ended its TCP connection without
/// TLS's `close_notify`, as most clients do. The end of input, or of the connection, follows
/// it and is handled as over plain TCP: it is no failure of the exchange.
func isRaggedTLSEnd(_ error: any Error) -> Bool {
    if case NIOSSLError.uncleanShutdown = error { return true }
    return false
}
