import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import Proxy

@Suite("Routing")
struct RoutingTests {
    /// The status lines of the responses in `received`, in order.
    private static func statusLines(in received: String) -> [String] {
        received.utf8.split(separator: UInt8(ascii: "\n"))
            .map { String(decoding: $0, as: UTF8.self) }
            .filter { $0.hasPrefix("HTTP/1.1 ") }
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
    }

    @Test("Host picks the app: port stripped, case ignored; static routes; unknown hosts get 404")
    func routesByHost() async throws {
        try await withUpstreams(["alpha", "beta"]) { upstreams in
            let routes = RouteTable(
                apps: ["alpha": [upstreams[0].upstream], "beta": [upstreams[1].upstream]],
                staticRoutes: ["Custom.Example": [upstreams[1].upstream]]
            )
            try await withProxy(routes: routes) { _, port in
                try await withHTTPClient { client in
                    for host in ["alpha.localhost", "ALPHA.LocalHost:8080", "alpha.localhost."] {
                        let response = try await client.get("/", host: host, port: port)
                        #expect(response.status == .ok)
                        #expect(response.body == "hello from alpha", "host \(host)")
                    }
                    let response1 = try await client.get("/", host: "beta.localhost", port: port)
                    #expect(response1.body == "hello from beta")
                    let response2 = try await client.get("/", host: "custom.example:80", port: port)
                    #expect(response2.body == "hello from beta")

                    let unknown = try await client.get("/", host: "nope.localhost", port: port)
                    #expect(unknown.status == .notFound)
                    #expect(unknown.body == "no app here\n")
                    #expect(!unknown.body.contains("alpha") && !unknown.body.contains("beta"))
                }
            }
        }
    }

    @Test("A new route table reaches requests on a connection kept alive across the swap")
    func routeSwapOnOpenConnection() async throws {
        try await withUpstreams(["alpha", "beta"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { server, port in
                // One raw connection, so every request below is sure to share it.
                let connection = try await RawConnection.connect(port: port)
                try await connection.session { exchange in
                    func get() async throws -> String {
                        try await exchange("GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n") { received in
                            received.hasSuffix("hello from alpha") || received.hasSuffix("hello from beta")
                                || received.hasSuffix("no app here\n")
                        }
                    }
                    for _ in 0..<3 {
                        #expect(try await get().hasSuffix("hello from alpha"))
                    }
                    server.updateRoutes(RouteTable(apps: ["app": [upstreams[1].upstream]]))
                    try await Task.sleep(for: .milliseconds(100))
                    for _ in 0..<3 {
                        #expect(try await get().hasSuffix("hello from beta"))
                    }
                    server.updateRoutes(RouteTable(apps: [:]))
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(try await get().hasPrefix("HTTP/1.1 404 "))
                }
            }
        }
    }

    @Test("Instances of an app are balanced round-robin")
    func roundRobin() async throws {
        try await withUpstreams(["one", "two"]) { upstreams in
            let routes = RouteTable(apps: ["app": upstreams.map(\.upstream)])
            try await withProxy(routes: routes) { _, port in
                try await withHTTPClient { client in
                    var seen: [String: Int] = [:]
                    for _ in 0..<20 {
                        let response = try await client.get("/", host: "app.localhost", port: port)
                        seen[response.body, default: 0] += 1
                    }
                    // One client connection lives on one event loop, which alternates.
                    #expect(seen == ["hello from one": 10, "hello from two": 10])
                }
            }
        }
    }

    @Test("Keep-alive: 50 requests reuse one upstream connection")
    func keepAliveReuse() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                try await withHTTPClient { client in
                    for _ in 0..<50 {
                        let response3 = try await client.get("/", host: "app.localhost", port: port)
                        #expect(response3.status == .ok)
                    }
                }
            }
            #expect(upstreams[0].acceptedConnections == 1)
        }
    }

    @Test("Pipelined requests are answered one after the other, in order")
    func pipelining() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let request =
                    "GET /echo?n=1 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET /status/204 HTTP/1.1\r\nHost: nope.localhost\r\n\r\n"
                    + "GET /chunked HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n"
                let connection = try await RawConnection.connect(port: port)
                let (received, closed) = try await connection.exchange(request)
                #expect(closed)
                let statusLines = Self.statusLines(in: received)
                #expect(statusLines == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"])
                #expect(received.hasSuffix("0\r\n\r\n"))
                #expect(received.contains("first,"))
            }
        }
    }

    @Test("A malformed head after pipelined requests is answered 400 after them, then the connection closes")
    func malformedAfterPipelined() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let request =
                    "GET /echo?n=1 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET /chunked HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                    + "GET / HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
                let connection = try await RawConnection.connect(port: port)
                let (received, closed) = try await connection.exchange(request)
                #expect(closed)
                let statusLines = Self.statusLines(in: received)
                #expect(statusLines == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 400 Bad Request"])
                #expect(received.contains("first,"))
            }
        }
    }

    @Test("Pipelined requests with bodies each reach the upstream whole, over a reused upstream connection")
    func pipelinedBodies() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let configuration = ProxyConfiguration(responseHeaderTimeout: .seconds(3), accessLog: false)
            try await withProxy(configuration, routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let request =
                    "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 5\r\n\r\nhello"
                    + "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 6\r\n\r\nworld!"
                    + "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                let connection = try await RawConnection.connect(port: port)
                let (received, closed) = try await connection.exchange(request)
                #expect(closed)
                // The bodies end without a line end: count the answers, not the lines.
                #expect(received.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 4)
                #expect(
                    received.contains("received 5") && received.contains("received 6")
                        && received.contains("received 2"))
            }
            #expect(upstreams[0].acceptedConnections == 1)
        }
    }

    @Test("A route update takes effect at once and keeps the pool of upstreams that stay")
    func routeUpdate() async throws {
        try await withUpstreams(["old", "new"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { server, port in
                try await withHTTPClient { client in
                    let response4 = try await client.get("/", host: "app.localhost", port: port)
                    #expect(response4.body == "hello from old")
                    server.updateRoutes(RouteTable(apps: ["app": [upstreams[1].upstream]]))
                    #expect(await server.waitUntilIdle(upstreams: [upstreams[0].upstream], timeout: .seconds(1)))
                    let response5 = try await client.get("/", host: "app.localhost", port: port)
                    #expect(response5.body == "hello from new")
                    server.updateRoutes(RouteTable())
                    #expect(await server.waitUntilIdle(upstreams: [upstreams[1].upstream], timeout: .seconds(1)))
                    let response6 = try await client.get("/", host: "app.localhost", port: port)
                    #expect(response6.status == .notFound)
                }
            }
        }
    }

    @Test("A custom domain reaches its app's instances and counts as the app; one of an unknown app is ignored")
    func customDomains() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let routes = RouteTable(
                apps: ["app": [upstreams[0].upstream], "other": []],
                domains: ["www.example.com": "app", "old.example.com": "gone", "other.localhost": "app"]
            )
            try await withProxy(routes: routes) { server, port in
                try await withHTTPClient { client in
                    let viaDomain = try await client.get("/hello", host: "WWW.example.com:80", port: port)
                    #expect(viaDomain.status == .ok)
                    #expect(viaDomain.body.contains("hello from app"))
                    let unknown = try await client.get("/hello", host: "old.example.com", port: port)
                    #expect(unknown.status == .notFound)
                    let hijack = try await client.get("/hello", host: "other.localhost", port: port)
                    #expect(hijack.status == .serviceUnavailable, "an app's own host stays the app's")
                }
                #expect(await server.statistics().routes["app"]?.successful == 1)
                // An app that leaves the table (destroyed) leaves the counters too.
                server.updateRoutes(RouteTable(apps: ["other": []]))
                try await Task.sleep(for: .milliseconds(50))
                #expect(await server.statistics().routes.keys.sorted() == ["other"])
            }
        }
    }

    @Test("An app in maintenance mode gets the maintenance page, through its domains too; others are served")
    func maintenanceMode() async throws {
        try await withUpstreams(["app", "other"]) { upstreams in
            let routes = RouteTable(
                apps: ["app": [upstreams[0].upstream], "other": [upstreams[1].upstream]],
                domains: ["www.example.com": "app"], maintenance: ["app"])
            try await withProxy(routes: routes) { server, port in
                try await withHTTPClient { client in
                    for host in ["app.localhost", "www.example.com"] {
                        let page = try await client.get("/hello", host: host, port: port)
                        #expect(page.status == .serviceUnavailable, "\(host)")
                        #expect(page.body == "down for maintenance: back soon\n")
                        #expect(page.headers["retry-after"] == [LocalResponse.retryAfterSeconds])
                    }
                    #expect(try await client.get("/", host: "other.localhost", port: port).body == "hello from other")
                    #expect(upstreams[0].receivedRequests == 0, "the app's instance saw none of them")
                    // Planned, so counted apart from the 5xx answers alerts watch.
                    let counts = await server.statistics().routes["app"]
                    #expect(
                        counts?.maintenance == 2 && counts?.serverError == 0 && counts?.total == 2, "\(counts as Any)")

                    server.updateRoutes(
                        RouteTable(apps: routes.apps, domains: routes.domains))
                    try await Task.sleep(for: .milliseconds(50))
                    #expect(try await client.get("/", host: "app.localhost", port: port).body == "hello from app")
                }
            }
        }
    }
}
