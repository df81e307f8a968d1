import AsyncHTTPClient
import NIOCore
import NIOHTTP1
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

    /// Sends `GET path` to the instance on `127.0.0.1:port` and returns the answer's status.
    /// The head must come within `timeout` (the client's deadline covers only the head); the
    /// body is then read, up to 64 KiB and for at most `bodyTimeout`, only to end the exchange:
    /// an app that streams its page (server-sent events, a live dashboard) or stalls in its
    /// body has answered, and must not hold the caller.
    func probe(
        port: Int, path: String, timeout: TimeAmount, bodyTimeout: Duration = .seconds(1)
    ) async throws -> HTTPResponseStatus {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .GET
        let response = try await execute(request, timeout: timeout)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await response.body.collect(upTo: 64 * 1024) }
            group.addTask { try? await _Concurrency.Task.sleep(for: bodyTimeout) }
            await group.next()
            group.cancelAll()
        }
        return response.status
    }
}
