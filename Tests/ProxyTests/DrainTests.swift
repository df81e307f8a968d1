import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Testing

@testable import Proxy

@Suite("Deploy switch and statistics")
struct DrainTests {
    @Test("Switching routes while clients send requests loses none; old instance drains, then stops")
    func routeSwitchUnderLoad() async throws {
        try await withUpstreams(["old", "new"]) { upstreams in
            let old = upstreams[0]
            let new = upstreams[1]
            try await withProxy(routes: RouteTable(apps: ["app": [old.upstream]])) { server, port in
                try await withHTTPClient { client in
                    let results = try await withThrowingTaskGroup(of: [String].self) { group in
                        for _ in 0..<4 {
                            group.addTask {
                                var bodies: [String] = []
                                let end = ContinuousClock.now + .milliseconds(3000)
                                while ContinuousClock.now < end {
                                    let response = try await client.get("/", host: "app.localhost", port: port)
                                    bodies.append(
                                        response.status == .ok ? response.body : "status \(response.status.code)")
                                }
                                return bodies
                            }
                        }
                        // Switch once the old instance is busy (a fixed sleep is too short on a
                        // loaded machine).
                        try await waitFor { old.receivedRequests >= 5 }
                        server.updateRoutes(RouteTable(apps: ["app": [new.upstream]]))
                        #expect(await server.waitUntilIdle(upstreams: [old.upstream], timeout: .seconds(5)))
                        await old.stop()
                        var all: [String] = []
                        for try await bodies in group { all += bodies }
                        return all
                    }
                    let failures = results.filter { $0 != "hello from old" && $0 != "hello from new" }
                    #expect(failures.isEmpty, "\(failures.count) failed: \(Set(failures))")
                    #expect(results.contains("hello from old") && results.last(where: { _ in true }) != nil)
                    #expect(results.filter { $0 == "hello from new" }.count > 10)
                }
            }
        }
    }

    @Test("Answers are counted per app by status class")
    func statistics() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let routes = RouteTable(apps: ["app": [upstreams[0].upstream], "empty": []])
            try await withProxy(ProxyConfiguration(accessLog: true), routes: routes) { server, port in
                try await withHTTPClient { client in
                    for path in ["/", "/", "/status/304", "/status/404"] {
                        _ = try await client.get(path, host: "app.localhost", port: port)
                    }
                    _ = try await client.get("/", host: "empty.localhost", port: port)
                    _ = try await client.get("/", host: "nope.localhost", port: port)
                }
                let statistics = await server.statistics()
                var expected = StatusClassCounts()
                expected.successful = 2
                expected.redirection = 1
                expected.clientError = 1
                #expect(statistics.routes["app"] == expected)
                #expect(statistics.routes["empty"]?.serverError == 1)
                #expect(statistics.unrouted.clientError == 1)
                #expect(statistics.inFlight.isEmpty)
                let latency = try #require(statistics.latencies["app"])
                #expect(latency.count == 4)
                #expect(latency.cumulativeCounts.last == 4, "every local request takes less than 10 s")
                #expect(latency.sum > 0)
            }
        }
    }
}

@Suite("Graceful shutdown")
struct GracefulShutdownTests {
    @Test("Graceful shutdown stops accepting and lets the request in flight finish")
    func gracefulShutdown() async throws {
        try await withUpstreams(["app"]) { upstreams in
            var logger = Logger(label: "proxy-test")
            logger.logLevel = .warning
            let server = ProxyServer(configuration: ProxyConfiguration(port: 0, accessLog: false), logger: logger)
            server.updateRoutes(RouteTable(apps: ["app": [upstreams[0].upstream]]))
            let group = ServiceGroup(services: [server], logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                let port = try await server.boundPort()
                try await withHTTPClient { client in
                    async let delayed = client.get("/delay", host: "app.localhost", port: port)
                    try await waitFor { await server.inFlightRequests()[upstreams[0].upstream] == 1 }
                    await group.triggerGracefulShutdown()
                    let response = try await delayed
                    #expect(response.status == .ok)
                    #expect(response.body == "hello from app")
                    #expect(response.headers.first(name: "connection") == "close")
                }
                try await tasks.next()
                await #expect(throws: (any Error).self) {
                    _ = try await RawConnection.connect(port: port)
                }
            }
        }
    }
}

@Suite("Proxy control socket")
struct ProxyControlTests {
    @Test("A retry that reaches an instance the routes left after the request came is still counted for draining")
    func retryToRetiredInstanceIsCounted() async throws {
        // An instance whose accept queue is full: a connect to it hangs until the timeout.
        let stuck = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 0)
            .serverChannelOption(.autoRead, value: false)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let stuckPort = stuck.localAddress!.port!
        // With a backlog of 0, one connection waiting to be accepted fills the queue.
        let filler = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: stuckPort).get()
        try await withUpstreams(["old", "new"]) { upstreams in
            let old = upstreams[0].upstream
            let configuration = ProxyConfiguration(connectTimeout: .milliseconds(500), accessLog: false)
            let routes = RouteTable(apps: ["app": [Upstream(host: "127.0.0.1", port: stuckPort), old]])
            try await withProxy(configuration, routes: routes) { server, port in
                try await withHTTPClient { client in
                    // `/delay` answers after 1 s: the retry is in flight for that long.
                    async let response = client.get("/delay", host: "app.localhost", port: port)
                    try await Task.sleep(for: .milliseconds(100))
                    server.updateRoutes(RouteTable(apps: ["app": [upstreams[1].upstream]]))
                    try await waitFor { await server.drainState(of: [old]).inFlight == 1 }
                    let answer = try await response
                    #expect(answer.status == .ok)
                    #expect(answer.body == "hello from old")
                    #expect(await server.drainState(of: [old]).isDone)
                }
            }
        }
        try? await filler.close()
        try await stuck.close()
    }

    @Test("Workers learn whether the proxy still routes to or has requests in flight to old instances")
    func drainStateOverSocket() async throws {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("ctl-\(UUID().uuidString).sock").path
        try await withUpstreams(["app"]) { upstreams in
            let upstream = upstreams[0].upstream
            try await withProxy(routes: RouteTable(apps: ["app": [upstream]])) { server, port in
                let control = ProxyControlServer(socketPath: socket, proxy: server, logger: Logger(label: "control"))
                let controlTask = Task { try await control.run() }
                try await waitFor { FileManager.default.fileExists(atPath: socket) }
                let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
                #expect(mode == 0o600, "the socket has its name only once it is the owner's alone")
                @Sendable func state() async throws -> ProxyDrainState {
                    try await ProxyControlClient.drainState(socketPath: socket, upstreams: [upstream])
                }
                let routed = try await state()
                #expect(routed.inFlight == 0 && routed.stillRouted > 0 && routed.isRouted, "\(routed)")
                // An upstream no route names yet is not routed by any event loop.
                let newcomer = Upstream(host: "127.0.0.1", port: 2)
                let unrouted = try await ProxyControlClient.drainState(socketPath: socket, upstreams: [newcomer])
                #expect(
                    !unrouted.isRouted && unrouted.notRouted == routed.stillRouted, "one per event loop: \(unrouted)")
                server.updateRoutes(RouteTable(apps: ["app": [upstream, newcomer]]))
                try await waitFor {
                    try await ProxyControlClient.drainState(socketPath: socket, upstreams: [newcomer]).isRouted
                }
                server.updateRoutes(RouteTable(apps: ["app": [upstream]]))

                // `/slow` never answers: while the client waits, one request is in flight, also
                // once the upstream has left the routes; it ends when the client gives up.
                let request = Task {
                    try await withHTTPClient { client in
                        var slow = HTTPClientRequest(url: "http://127.0.0.1:\(port)/slow")
                        slow.headers.replaceOrAdd(name: "host", value: "app.localhost")
                        _ = try? await client.execute(slow, timeout: .seconds(2))
                    }
                }
                try await waitFor { try await state().inFlight == 1 }
                server.updateRoutes(RouteTable())
                try await waitFor {
                    try await state() == ProxyDrainState(inFlight: 1, stillRouted: 0, notRouted: routed.stillRouted)
                }
                let other = Upstream(host: "127.0.0.1", port: 1)
                #expect(try await ProxyControlClient.drainState(socketPath: socket, upstreams: [other]).isDone)
                try await request.value
                try await waitFor { try await state().isDone }
                controlTask.cancel()
                _ = await controlTask.result
            }
        }
        #expect(!FileManager.default.fileExists(atPath: socket), "the proxy removes its socket when it stops")
        await #expect(throws: (any Error).self, "no proxy listens any more") {
            _ = try await ProxyControlClient.drainState(socketPath: socket, upstreams: [])
        }
    }
}
