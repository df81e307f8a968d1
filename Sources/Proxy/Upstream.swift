/// One instance of an app (or of a static route's service) the proxy forwards to.
public struct Upstream: Hashable, Sendable, CustomStringConvertible {
    /// The host to connect to, normally `127.0.0.1`.
    public var host: String
    /// The TCP port to connect to.
    public var port: Int

    /// Creates an upstream at `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`.
    public var description: String { "\(host):\(port)" }
}
