import Foundation
import NIOCore
import Testing

@testable import Proxy

/// Upstreams that fail part way, answer with unusual framing, and clients that send broken
/// bodies or lookalike forwarding headers: found by probing the running proxy with raw
/// sockets.
@Suite("Upstream failures, framing edge cases and broken request bodies")
struct UpstreamFailureTests {
    private static let okHead = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    @Test("A close-delimited body cut by a reset reaches the client cut: no last chunk, the connection closes")
    func resetCutsCloseDelimitedBody() async throws {
        let upstream = try await ScriptedUpstream.start { _ in .writeThenReset("HTTP/1.1 200 OK\r\n\r\npartial-") }
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["app": [upstream.upstream]])) { _, port in
            let (received, closed) = try await RawConnection.connect(port: port).exchange(
                "GET /cut HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
            #expect(closed)
            #expect(received.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(received)")
            #expect(!received.hasSuffix("0\r\n\r\n"), "the cut body was ended as if complete: \(received)")
        }
    }

    @Test("A request whose answer had begun is never sent again: 502, the upstream saw it once")
    func beganAnswerIsNotRetried() async throws {
        let upstream = try await ScriptedUpstream.start { line in
            line.hasPrefix("DELETE") ? .writeThenReset("HTTP/1.1 200 OK\r\nContent-Le") : .respond(Self.okHead)
        }
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["app": [upstream.upstream]])) { _, port in
            try await RawConnection.connect(port: port).session { exchange in
                let warm = try await exchange("GET /warm HTTP/1.1\r\nHost: app.localhost\r\n\r\n") {
                    $0.hasSuffix("ok")
                }
                #expect(warm.hasPrefix("HTTP/1.1 200 "))
                let deleted = try await exchange("DELETE /thing HTTP/1.1\r\nHost: app.localhost\r\n\r\n") {
                    $0.contains("\r\n\r\n") && $0.hasSuffix("\n")
                }
                #expect(deleted.hasPrefix("HTTP/1.1 502 "), "\(deleted)")
            }
            #expect(upstream.received.filter { $0.hasPrefix("DELETE") }.count == 1, "\(upstream.received)")
        }
    }

    @Test("A kept-alive connection closed without a byte of answer is retried on the next instance")
    func silentCloseRetriesNextInstance() async throws {
        let dying = try await ScriptedUpstream.start { line in line.contains("/work") ? .close : .respond(Self.okHead) }
        let healthy = try await ScriptedUpstream.start { _ in .respond(Self.okHead) }
        defer {
            Task {
                await dying.stop()
                await healthy.stop()
            }
        }
        try await withProxy(routes: RouteTable(apps: ["app": [dying.upstream, healthy.upstream]])) { _, port in
            try await RawConnection.connect(port: port).session { exchange in
                // One kept-alive connection to each instance, then work for each.
                for path in ["/warm", "/warm", "/work", "/work"] {
                    let answer = try await exchange("GET \(path) HTTP/1.1\r\nHost: app.localhost\r\n\r\n") {
                        $0.contains("\r\n\r\n") && ($0.hasSuffix("ok") || $0.hasSuffix("\n"))
                    }
                    #expect(answer.hasPrefix("HTTP/1.1 200 "), "\(path): \(answer)")
                }
                return ()
            }
            #expect(dying.received.filter { $0.contains("/work") }.count == 1, "\(dying.received)")
            #expect(healthy.received.filter { $0.contains("/work") }.count == 2, "\(healthy.received)")
        }
    }

    @Test(
        "An instance that goes under a repeatable request sends it to the next one; a POST, or no other instance, gets 502"
    )
    func failedInstanceRetriesRepeatableRequests() async throws {
        let dying = try await ScriptedUpstream.start { _ in .close }
        let healthy = try await ScriptedUpstream.start { _ in .respond(Self.okHead) }
        defer {
            Task {
                await dying.stop()
                await healthy.stop()
            }
        }
        let routes = RouteTable(apps: ["app": [dying.upstream, healthy.upstream], "solo": [dying.upstream]])
        try await withProxy(routes: routes) { _, port in
            let statuses = try await RawConnection.connect(port: port).session { exchange in
                var statuses: [String] = []
                for request in [
                    "GET /a", "GET /b", "GET /c", "GET /d", "POST /e",
                    "POST /f",
                ] {
                    let body = request.hasPrefix("POST") ? "Content-Length: 2\r\n\r\nhi" : "\r\n"
                    let answer = try await exchange("\(request) HTTP/1.1\r\nHost: app.localhost\r\n\(body)") {
                        $0.contains("\r\n\r\n") && ($0.hasSuffix("ok") || $0.hasSuffix("\n"))
                    }
                    statuses.append(String(answer.prefix(12)))
                }
                return statuses
            }
            #expect(statuses.prefix(4).allSatisfy { $0 == "HTTP/1.1 200" }, "\(statuses)")
            #expect(statuses.suffix(2).sorted() == ["HTTP/1.1 200", "HTTP/1.1 502"], "\(statuses)")
            #expect(healthy.received.filter { $0.hasPrefix("GET") }.count == 4, "\(healthy.received)")
            #expect(dying.received.filter { $0.hasPrefix("POST") }.count == 1, "\(dying.received)")
            let solo = try await RawConnection.connect(port: port).exchange(
                "GET / HTTP/1.1\r\nHost: solo.localhost\r\nConnection: close\r\n\r\n")
            #expect(solo.received.hasPrefix("HTTP/1.1 502 "), "\(solo.received)")
        }
    }

    @Test("A transfer coding other than chunked passes as it came, ended by the close, never chunked twice")
    func foreignTransferCodingIsNotChunkedAgain() async throws {
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip", bodySize: 5)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["app": [upstream.upstream]])) { _, port in
            let (received, closed) = try await RawConnection.connect(port: port).exchange(
                "GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
            #expect(closed)
            let head = received.components(separatedBy: "\r\n\r\n")[0].lowercased()
            #expect(head.components(separatedBy: "transfer-encoding").count == 2, "\(head)")
            #expect(head.contains("transfer-encoding: gzip") && head.contains("connection: close"), "\(head)")
            #expect(received.hasSuffix("\r\n\r\nbbbbb"))
        }
    }

    @Test("A 204 reaches the client without the Content-Length its upstream sent")
    func noContentHasNoLength() async throws {
        let upstream = try await RawUpstream.start(head: "HTTP/1.1 204 No Content\r\nContent-Length: 5", bodySize: 0)
        defer { Task { await upstream.stop() } }
        try await withProxy(routes: RouteTable(apps: ["app": [upstream.upstream]])) { _, port in
            let (received, _) = try await RawConnection.connect(port: port).exchange(
                "GET / HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n")
            #expect(received.hasPrefix("HTTP/1.1 204 "), "\(received)")
            #expect(!received.lowercased().contains("content-length"), "\(received)")
        }
    }

    @Test("A broken chunked body gets 400 after the answers to the requests before it")
    func brokenChunkedBody() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let brokenPost =
                    "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n"
                let pipelined = try await RawConnection.connect(port: port).exchange(
                    "GET /delay HTTP/1.1\r\nHost: app.localhost\r\n\r\n" + brokenPost)
                let answers = pipelined.received.components(separatedBy: "HTTP/1.1 ").dropFirst()
                #expect(answers.count == 2, "\(pipelined.received)")
                #expect(answers.first?.hasPrefix("200 ") == true && answers.last?.hasPrefix("400 ") == true)
                #expect(pipelined.closed)
                #expect(upstreams[0].receivedRequests == 1, "the broken request reached the upstream")

                let alone = try await RawConnection.connect(port: port).exchange(
                    "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n"
                )
                #expect(alone.received.hasPrefix("HTTP/1.1 400 "), "\(alone.received)")
            }
        }
    }
}

@Suite("Slow request bodies")
struct SlowBodyTests {
    @Test("A body sent a byte at a time gets 408 once the response header timeout passes without 16 KiB")
    func tricklingBodyIsCut() async throws {
        try await withUpstreams(["app"]) { upstreams in
            let configuration = ProxyConfiguration(responseHeaderTimeout: .seconds(1), accessLog: false)
            try await withProxy(configuration, routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let connection = try await RawConnection.connect(port: port)
                let started = ContinuousClock.now
                let received = try await connection.channel.executeThenClose { inbound, outbound in
                    try await outbound.write(
                        ByteBuffer(
                            string: "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 100\r\n\r\n"))
                    let trickle = Task {
                        for _ in 0..<60 {
                            try await Task.sleep(for: .milliseconds(100))
                            try await outbound.write(ByteBuffer(string: "x"))
                        }
                    }
                    defer { trickle.cancel() }
                    var received = ""
                    for try await chunk in inbound {
                        received += String(buffer: chunk)
                        if received.contains("\r\n\r\n") { break }
                    }
                    return received
                }
                #expect(received.hasPrefix("HTTP/1.1 408 "), "\(received)")
                #expect(ContinuousClock.now - started < .seconds(4), "the trickle was not cut")
            }
        }
    }
}
