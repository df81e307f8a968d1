import AsyncHTTPClient
import NIOHTTP1
import Testing

@testable import Proxy

@Suite("Header rewriting")
struct HeaderTests {
    /// The headers the upstream received, parsed from `/echo`'s answer.
    private func received(_ response: String) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        let body = response.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init) ?? response
        for line in body.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers[String(line[..<colon]), default: []].append(String(value))
        }
        return headers
    }

    private let forgedRequest =
        "GET /echo HTTP/1.1\r\nHost: app.localhost:8080\r\n"
        + "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n"
        + "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
        + "X-Kept: yes\r\nConnection: close\r\n\r\n"

    @Test("Untrusted X-Forwarded-* are replaced; hop-by-hop headers dropped both ways; Host kept")
    func untrustedClient() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let connection = try await RawConnection.connect(port: port)
                let (response, _) = try await connection.exchange(forgedRequest)
                let headers = received(response)
                #expect(headers["host"] == ["app.localhost:8080"])
                #expect(headers["x-forwarded-for"] == ["127.0.0.1"])
                #expect(headers["x-forwarded-proto"] == ["http"])
                #expect(headers["x-forwarded-host"] == ["app.localhost:8080"])
                #expect(headers["x-kept"] == ["yes"])
                for hopByHop in ["connection", "x-secret", "keep-alive", "te"] {
                    #expect(headers[hopByHop] == nil, "\(hopByHop) reached the upstream")
                }
                let requestID = try #require(headers["x-request-id"]?.first)
                #expect(requestID.utf8.count == 32)

                let responseHead = response.split(separator: "\r\n\r\n").first.map(String.init) ?? ""
                #expect(responseHead.contains("x-upstream: app"))
                #expect(!responseHead.lowercased().contains("x-upstream-secret"))
                #expect(!responseHead.lowercased().contains("keep-alive"))
                #expect(responseHead.lowercased().contains("connection: close"))
            }
        }
    }

    @Test("Forwarding headers spelt with _ for - never reach the app, whoever sends them")
    func underscoreLookalikes() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let routes = RouteTable(apps: ["app": [upstreams[0].upstream]])
            try await withProxy(ProxyConfiguration(trustedProxies: ["127.0.0.1"], accessLog: false), routes: routes) {
                _, port in
                let (response, _) = try await RawConnection.connect(port: port).exchange(
                    "GET /echo HTTP/1.1\r\nHost: app.localhost\r\nX_Forwarded_For: 6.6.6.6\r\n"
                        + "x_forwarded_proto: https\r\nX_Forwarded_Host: admin.internal\r\nX_Request_Id: forged\r\n"
                        + "X_Kept_Too: yes\r\nConnection: close\r\n\r\n")
                let headers = received(response)
                for lookalike in ["x_forwarded_for", "x_forwarded_proto", "x_forwarded_host", "x_request_id"] {
                    #expect(headers[lookalike] == nil, "\(lookalike) reached the upstream")
                }
                #expect(headers["x-forwarded-for"] == ["127.0.0.1"])
                #expect(headers["x-forwarded-proto"] == ["http"])
                #expect(headers["x-forwarded-host"] == ["app.localhost"])
                #expect(headers["x-request-id"]?.first?.utf8.count == 32)
                #expect(headers["x_kept_too"] == ["yes"], "other names with _ pass")
            }
        }
    }

    @Test("An absolute-form target reaches the app in origin form; one naming another host gets 400")
    func absoluteFormTarget() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let forwarded = try await RawConnection.connect(port: port).exchange(
                    "GET http://app.localhost/echo?a=1 HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n"
                )
                #expect(forwarded.received.hasPrefix("HTTP/1.1 200 "))
                #expect(received(forwarded.received)["target"] == ["/echo?a=1"])
                let refused = try await RawConnection.connect(port: port).exchange(
                    "GET http://other.localhost/echo HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                )
                #expect(refused.received.hasPrefix("HTTP/1.1 400 "))
                #expect(upstreams[0].receivedRequests == 1)
            }
        }
    }

    @Test("From a trusted proxy X-Forwarded-* are kept and appended to; X-Request-Id is kept")
    func trustedProxy() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let configuration = ProxyConfiguration(trustedProxies: ["10.0.0.0/8", "127.0.0.0/8"], accessLog: false)
            try await withProxy(configuration, routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                try await withHTTPClient { client in
                    let response = try await client.get(
                        "/echo",
                        host: "app.localhost",
                        port: port,
                        headers: [
                            ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-Proto", "https"),
                            ("X-Forwarded-Host", "www.example.org"), ("X-Request-Id", "abc-123"),
                        ]
                    )
                    let headers = received(response.body)
                    #expect(headers["x-forwarded-for"] == ["203.0.113.7, 127.0.0.1"])
                    #expect(headers["x-forwarded-proto"] == ["https"])
                    #expect(headers["x-forwarded-host"] == ["www.example.org"])
                    #expect(headers["x-request-id"] == ["abc-123"])
                }
            }
        }
    }
}
