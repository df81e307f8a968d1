import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import Proxy

/// Responses whose body ends when the upstream closes the connection (no `Content-Length`, no
/// chunked encoding), as CGI servers and HTTP/1.0 apps send them.
@Suite("Close-delimited and HTTP/1.0 upstream responses")
struct CloseDelimitedTests {
    @Test("A close-delimited body reaches an HTTP/1.1 client chunked, on a kept-alive connection")
    func closeDelimitedToHTTP11Client() async throws {
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain", bodySize: 5)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["cgi": [upstream.upstream]])) { _, port in
            let request = "GET /one HTTP/1.1\r\nHost: cgi.localhost\r\n\r\n"
            let connection = try await RawConnection.connect(port: port)
            let (received, closed) = try await connection.exchange(
                request + request.replacingOccurrences(of: "/one", with: "/two")
            ) { $0.components(separatedBy: "0\r\n\r\n").count == 3 }
            #expect(!closed)
            let responses = received.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(responses.count == 2)
            for response in responses {
                #expect(response.hasPrefix("200 OK\r\n"))
                #expect(response.lowercased().contains("transfer-encoding: chunked\r\n"))
                #expect(!response.lowercased().contains("connection: close"))
                #expect(response.hasSuffix("\r\n\r\n5\r\nbbbbb\r\n0\r\n\r\n"))
            }
        }
        // An upstream connection that ended its body by closing is never pooled.
        #expect(upstream.acceptedConnections == 2)
    }

    @Test("A close-delimited body reaches an HTTP/1.0 client close-delimited, with Connection: close")
    func closeDelimitedToHTTP10Client() async throws {
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain", bodySize: 5)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["cgi": [upstream.upstream]])) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let (received, closed) = try await connection.exchange("GET / HTTP/1.0\r\nHost: cgi.localhost\r\n\r\n")
            #expect(closed)
            #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(received.lowercased().contains("connection: close\r\n"))
            #expect(!received.lowercased().contains("transfer-encoding"))
            #expect(!received.lowercased().contains("content-length"))
            #expect(received.hasSuffix("\r\n\r\nbbbbb"))
        }
    }

    @Test("HTTP/1.0 upstream responses pass through and their connections are not pooled")
    func http10Upstream() async throws {
        let framed = try await RawUpstream.start(head: "HTTP/1.0 200 OK\r\nContent-Length: 7", bodySize: 7)
        let unframed = try await RawUpstream.start(head: "HTTP/1.0 200 OK", bodySize: 3)
        defer {
            Task {
                await framed.stop()
                await unframed.stop()
            }
        }
        let routes = RouteTable(apps: ["framed": [framed.upstream], "unframed": [unframed.upstream]])
        try await withProxy(routes: routes) { _, port in
            try await withHTTPClient { client in
                for _ in 0..<3 {
                    let response = try await client.get("/", host: "framed.localhost", port: port)
                    #expect(response.status == .ok)
                    #expect(response.body == "bbbbbbb")
                    let unframedResponse = try await client.get("/", host: "unframed.localhost", port: port)
                    #expect(unframedResponse.status == .ok)
                    #expect(unframedResponse.body == "bbb")
                }
            }
        }
        #expect(framed.acceptedConnections == 3)
        #expect(unframed.acceptedConnections == 3)
    }

    @Test("A 64 MB close-delimited body streams with backpressure")
    func largeCloseDelimitedBody() async throws {
        // Larger than what the kernel's loopback buffers and the client's read-ahead can hold.
        let size = 64 * 1024 * 1024
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 200 OK", bodySize: size)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["big": [upstream.upstream]])) { _, port in
            let connection = try await RawConnection.connect(port: port)
            try await connection.channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: big.localhost\r\n\r\n"))
                var reader = inbound.makeAsyncIterator()
                var received = ByteBuffer()
                // A client that stops reading: the proxy must stop reading the upstream too.
                try await Task.sleep(for: .milliseconds(500))
                let writtenWhileStalled = upstream.bodyBytesWritten
                #expect(writtenWhileStalled < size, "the upstream wrote everything to a stalled client")
                while let chunk = try await reader.next() {
                    received.writeImmutableBuffer(chunk)
                    if received.readableBytesView.suffix(5).elementsEqual("0\r\n\r\n".utf8) { break }
                }
                let text = String(buffer: received)
                let (head, body) = try #require(text.split(separator: "\r\n\r\n", maxSplits: 1).twoParts)
                #expect(head.lowercased().contains("transfer-encoding: chunked"))
                #expect(try dechunk(body).count == size)
            }
        }
    }

    @Test("HEAD to an upstream that frames nothing gets the head only; the next request the body")
    func headWithoutFraming() async throws {
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 200 OK\r\nContent-Type: text/plain", bodySize: 5)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["cgi": [upstream.upstream]])) { _, port in
            let request =
                "HEAD / HTTP/1.1\r\nHost: cgi.localhost\r\n\r\n"
                + "GET / HTTP/1.1\r\nHost: cgi.localhost\r\nConnection: close\r\n\r\n"
            let connection = try await RawConnection.connect(port: port)
            let (received, closed) = try await connection.exchange(request)
            #expect(closed)
            let responses = received.components(separatedBy: "HTTP/1.1 ").dropFirst()
            #expect(responses.count == 2)
            #expect(responses.first?.hasPrefix("200 OK\r\n") == true)
            #expect(responses.first?.lowercased().contains("transfer-encoding") == false)
            #expect(responses.first?.hasSuffix("\r\n\r\n") == true)
            #expect(responses.last?.hasSuffix("\r\n\r\n5\r\nbbbbb\r\n0\r\n\r\n") == true, "\(received)")
        }
    }

    @Test("busybox httpd CGI output (close-delimited) answers 200 through the proxy")
    func busyboxCGI() async throws {
        let busybox = URL(fileURLWithPath: "/bin/busybox")
        guard FileManager.default.isExecutableFile(atPath: busybox.path) else {
            print("skipping: /bin/busybox is not installed (apt-get install busybox-static)")
            return
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mini-cgi-\(UUID().uuidString)")
        let cgiBin = root.appendingPathComponent("cgi-bin")
        try FileManager.default.createDirectory(at: cgiBin, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let script = cgiBin.appendingPathComponent("info")
        try "#!/bin/busybox sh\necho 'Content-Type: text/plain'\necho\necho \"hello from cgi\"\n"
            .write(to: script, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)

        let port = try await closedPort()
        let httpd = Process()
        httpd.executableURL = busybox
        httpd.arguments = ["httpd", "-f", "-p", "127.0.0.1:\(port)", "-h", root.path]
        try httpd.run()
        defer {
            // SIGKILL: the test process's threads block SIGTERM, and the child inherits the mask.
            kill(httpd.processIdentifier, SIGKILL)
            httpd.waitUntilExit()
        }
        try await withProxy(routes: RouteTable(apps: ["cgi": [Upstream(host: "127.0.0.1", port: port)]])) {
            _,
            proxyPort in
            try await withHTTPClient { client in
                var response = try await client.get("/cgi-bin/info", host: "cgi.localhost", port: proxyPort)
                for _ in 0..<50 where response.status == .badGateway {
                    // httpd is still starting.
                    try await Task.sleep(for: .milliseconds(100))
                    response = try await client.get("/cgi-bin/info", host: "cgi.localhost", port: proxyPort)
                }
                #expect(response.status == .ok)
                #expect(response.body == "hello from cgi\n")
                #expect(response.headers.first(name: "content-type") == "text/plain")
                let again = try await client.get("/cgi-bin/info", host: "cgi.localhost", port: proxyPort)
                #expect(again.status == .ok)
                #expect(again.body == "hello from cgi\n")
            }
        }
    }
}

extension Array where Element == Substring {
    /// The two elements of a two-element array.
    fileprivate var twoParts: (Substring, Substring)? {
        count == 2 ? (self[0], self[1]) : nil
    }
}

/// The payload of a chunked body (`size CRLF data CRLF ... 0 CRLF CRLF`).
private func dechunk(_ body: Substring) throws -> [UInt8] {
    var bytes = Array(body.utf8)[...]
    var payload: [UInt8] = []
    while true {
        let lineEnd = try #require(bytes.firstIndex(of: UInt8(ascii: "\r")))
        let size = try #require(Int(String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self), radix: 16))
        bytes = bytes[(lineEnd + 2)...]
        if size == 0 { return payload }
        payload += bytes.prefix(size)
        bytes = bytes.dropFirst(size + 2)
    }
}
