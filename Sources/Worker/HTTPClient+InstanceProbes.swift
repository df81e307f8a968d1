import AsyncHTTPClient
import NIOCore
import NIOPosix

extension HTTPClient {
    /// The client for checking that an instance answers (the health gate, the reconciler),
    /// never shut down. Unlike `HTTPClient.shared` it does not retry a refused connection
    /// until the request's deadline (5 s for a health probe): the caller's own loop decides
    /// when to look again, and looks in between whether the container still runs. With the
    /// engine's userland proxy a port not yet listened on is accepted and then closed, which
    /// was never retried; without it (`--userland-proxy=false`) the connection is refused,
    /// and an app that exited at start was only noticed after that deadline. A probe
    /// follows no redirect (a 3xx counts as an answer) and keeps no connection to the app
    /// (the shared client keeps idle ones for 10 minutes).
    public static let instanceProbes: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(1), read: nil)
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.maximumUsesPerConnection = 1
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()
}
