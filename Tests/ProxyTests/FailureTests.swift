import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import Proxy

@Suite("Failure answers")
struct FailureTests {
    @Test("No instance: 503 with Retry-After; refused: 502; no answer in time: 504; pages leak nothing")
    func failurePages() async throws {
        let deadPort = try await closedPort()
        try await withUpstreams(["slow"]) { upstreams in
            let routes = RouteTable(apps: [
                "empty": [],
                "dead": [Upstream(host: "127.0.0.1", port: deadPort)],
                "slow": [upstreams[0].upstream],
            ])
            let configuration = ProxyConfiguration(responseHeaderTimeout: .milliseconds(300), accessLog: false)
            try await withProxy(configuration, routes: routes) { _, port in
                try await withHTTPClient { client in
                    let unavailable = try await client.get("/", host: "empty.localhost", port: port)
                    #expect(unavailable.status == .serviceUnavailable)
                    #expect(unavailable.headers.first(name: "retry-after") == "5")

                    let refused = try await client.get("/", host: "dead.localhost", port: port)
                    #expect(refused.status == .badGateway)

                    let timedOut = try await client.get("/slow", host: "slow.localhost", port: port)
                    #expect(timedOut.status == .gatewayTimeout)

                    let dropped = try await client.get("/close", host: "slow.localhost", port: port)
                    #expect(dropped.status == .badGateway)

                    for page in [unavailable, refused, timedOut, dropped] {
                        #expect(page.body.utf8.count < 100)
                        #expect(!page.body.contains("127.0.0.1") && !page.body.contains(String(deadPort)))
                        #expect(!page.body.contains("slow") && !page.body.contains("dead"))
                    }
                }
            }
        }
    }

    @Test("The proxy's own answers: none to a HEAD carries a body; an HTTP/1.0 client kept alive is told so")
    func localAnswersFrameLikeUpstreamOnes() async throws {
        try await withProxy(routes: RouteTable(apps: ["empty": []])) { _, port in
            let connection = try await RawConnection.connect(port: port)
            try await connection.session { exchange in
                func answer(_ request: String) async throws -> String {
                    try await exchange(request) {
                        $0.hasSuffix("\r\n\r\n") || $0.hasSuffix("\n") && $0.contains("\r\n\r\n")
                    }
                }
                // A HEAD answered here: the head alone, so the next answer starts right after it.
                let head = try await answer("HEAD / HTTP/1.1\r\nHost: nope.localhost\r\n\r\n")
                #expect(head.hasPrefix("HTTP/1.1 404 ") && head.hasSuffix("\r\n\r\n"), "\(head)")
                #expect(head.lowercased().contains("content-length: 12\r\n"))
                let unavailable = try await answer("HEAD / HTTP/1.1\r\nHost: empty.localhost\r\n\r\n")
                #expect(unavailable.hasPrefix("HTTP/1.1 503 ") && unavailable.hasSuffix("\r\n\r\n"), "\(unavailable)")
                // An HTTP/1.0 keep-alive request answered here keeps the connection and says so.
                let old = try await answer("GET / HTTP/1.0\r\nHost: nope.localhost\r\nConnection: keep-alive\r\n\r\n")
                #expect(old.hasPrefix("HTTP/1.1 404 ") && old.hasSuffix("no app here\n"), "\(old)")
                #expect(old.lowercased().contains("connection: keep-alive\r\n"))
                let after = try await answer("GET / HTTP/1.1\r\nHost: nope.localhost\r\n\r\n")
                #expect(after.hasPrefix("HTTP/1.1 404 ") && after.hasSuffix("no app here\n"), "\(after)")
            }
        }
    }

    @Test("A connect failure is retried on the next instance")
    func retriesOnAnotherInstance() async throws {
        let deadPort = try await closedPort()
        try await withUpstreams(["live"]) { upstreams in
            let routes = RouteTable(apps: [
                "app": [Upstream(host: "127.0.0.1", port: deadPort), upstreams[0].upstream]
            ])
            try await withProxy(routes: routes) { _, port in
                try await withHTTPClient { client in
                    for _ in 0..<10 {
                        let response = try await client.get("/", host: "app.localhost", port: port)
                        #expect(response.body == "hello from live")
                    }
                }
            }
        }
    }

    @Test("A client that leaves cancels its upstream request: the connection closes, not pooled")
    func clientDisconnectCancelsUpstream() async throws {
        try await withUpstreams(["slow"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { server, port in
                let connection = try await RawConnection.connect(port: port)
                try await connection.channel.executeThenClose { _, outbound in
                    try await outbound.write(.init(string: "GET /slow HTTP/1.1\r\nHost: app.localhost\r\n\r\n"))
                    try await waitFor { await server.inFlightRequests()[upstreams[0].upstream] == 1 }
                    // Leave once the request reached the upstream (a connection that carried no
                    // request yet is kept for the next one).
                    try await waitFor { upstreams[0].receivedRequests == 1 }
                }
                try await waitFor { upstreams[0].closedConnections == 1 }
                try await waitFor { await server.inFlightRequests().isEmpty }
            }
        }
    }
}

/// Polls `condition` every 10 ms for up to 5 s.
func waitFor(_ condition: () async throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    for _ in 0..<500 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition not met within 5 s", sourceLocation: sourceLocation)
}
