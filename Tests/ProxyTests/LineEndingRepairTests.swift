import NIOCore
import Testing

@testable import Proxy

@Suite("Bare-LF response heads")
struct LineEndingRepairTests {
    @Test("An upstream head with bare LFs, after a bare-LF 100 Continue, reaches the client")
    func bareLineFeedHeads() async throws {
        let upstream = try await RawUpstream.start(
            head: "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 4\nX-App: cgi",
            headEnd: "\n\n",
            bodySize: 4
        )
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["cgi": [upstream.upstream]])) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let (received, _) = try await connection.exchange("GET / HTTP/1.1\r\nHost: cgi.localhost\r\n\r\n") {
                $0.hasSuffix("bbbb")
            }
            #expect(received.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"))
            #expect(received.lowercased().contains("x-app: cgi\r\n"))
            #expect(received.hasSuffix("\r\n\r\nbbbb"))
        }
    }
}
