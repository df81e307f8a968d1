import NIOCore
import Testing

@testable import Proxy

@Suite("Bare-LF response heads")
struct LineEndingRepairTests {
    @Test("Bare LFs are found across reads, after an informational head, and not past the head")
    func scannerFindsBareLineFeeds() {
        let response = "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\r\nContent-Type: text/plain\n\nbody\nmore\n"
        let headLength = response.utf8.count - "body\nmore\n".utf8.count
        // Whole, and one byte per read (a CR and its LF in different reads).
        for readSize in [response.utf8.count, 1] {
            var scanner = HeadScanner()
            var bareLineFeeds: [Int] = []
            var ended = false
            var offset = 0
            let bytes = Array(response.utf8)
            while !ended && offset < bytes.count {
                let end = min(offset + readSize, bytes.count)
                let result = bytes[offset..<end].withUnsafeBytes { scanner.scan($0) }
                bareLineFeeds += result.bareLineFeeds.map { $0 + offset }
                ended = result.headEnded
                offset = end
            }
            #expect(ended, "read size \(readSize)")
            if readSize == 1 {
                #expect(offset == headLength, "the scan stops at the end of the head")
            }
            let expected = bytes.indices.filter { $0 < headLength && bytes[$0] == 10 && bytes[$0 - 1] != 13 }
            #expect(bareLineFeeds == expected, "read size \(readSize)")
        }
    }

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
