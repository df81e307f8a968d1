import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import Proxy

/// Runs a real ``ProxyServer`` on a free loopback port for the duration of `body`.
func withProxy(
    _ configuration: ProxyConfiguration = ProxyConfiguration(accessLog: false),
    routes: RouteTable,
    _ body: (ProxyServer, Int) async throws -> Void
) async throws {
    var configuration = configuration
    configuration.port = 0
    configuration.tls?.port = 0
    var logger = Logger(label: "proxy-test")
    logger.logLevel = .warning
    let server = ProxyServer(configuration: configuration, logger: logger)
    server.updateRoutes(routes)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let port = try await server.boundPort()
        do {
            try await body(server, port)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// A simple answer: status, headers and the whole body as text.
struct SimpleResponse {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: String
}

extension HTTPClient {
    /// Sends a request through the proxy on `port` with the given `Host`.
    func get(
        _ path: String,
        host: String,
        port: Int,
        method: HTTPMethod = .GET,
        headers: [(String, String)] = []
    ) async throws -> SimpleResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        request.headers.replaceOrAdd(name: "host", value: host)
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        let response = try await execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return SimpleResponse(status: response.status, headers: response.headers, body: String(buffer: body))
    }
}

/// Runs `body` with a fresh HTTP client, shut down afterwards.
func withHTTPClient(_ body: (HTTPClient) async throws -> Void) async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        try await body(client)
    } catch {
        try await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

/// Runs `body` with some upstreams, stopped afterwards.
func withUpstreams(_ names: [String], _ body: ([TestUpstream]) async throws -> Void) async throws {
    var upstreams: [TestUpstream] = []
    for name in names {
        upstreams.append(try await TestUpstream.start(name: name))
    }
    do {
        try await body(upstreams)
    } catch {
        for upstream in upstreams { await upstream.stop() }
        throw error
    }
    for upstream in upstreams { await upstream.stop() }
}

/// A loopback port nothing listens on (bound, then released).
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}
