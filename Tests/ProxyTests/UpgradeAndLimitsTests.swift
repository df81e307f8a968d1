import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import Proxy

@Suite("Upgrades, limits and timeouts")
struct UpgradeAndLimitsTests {
    @Test("WebSocket-style Upgrade becomes a byte tunnel, half-close passed on")
    func upgradeTunnel() async throws {
        try await withUpstreams(["ws"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["ws": [upstreams[0].upstream]])) { server, port in
                let connection = try await RawConnection.connect(port: port)
                try await connection.channel.executeThenClose { inbound, outbound in
                    var reader = inbound.makeAsyncIterator()
                    let head = try await Self.upgrade(outbound, &reader)
                    #expect(head.hasPrefix("HTTP/1.1 101"))
                    #expect(head.lowercased().contains("upgrade: websocket"))
                    #expect(await server.inFlightRequests()[upstreams[0].upstream] == 1)

                    for message in ["ping-1", "ping-2 with more bytes"] {
                        #expect(try await Self.echo(message, outbound, &reader) == message)
                    }
                    outbound.finish()  // half-close: the echo server half-closes back
                    #expect(try await reader.next() == nil)
                }
                try await waitFor { await server.inFlightRequests().isEmpty }
            }
        }
    }

    @Test("A tunnel that carries nothing for its idle timeout is closed at both ends; traffic keeps it open")
    func idleTunnelClosed() async throws {
        try await withUpstreams(["ws"]) { upstreams in
            let configuration = ProxyConfiguration(tunnelIdleTimeout: .seconds(2), accessLog: false)
            let routes = RouteTable(apps: ["ws": [upstreams[0].upstream]])
            try await withProxy(configuration, routes: routes) { server, port in
                let connection = try await RawConnection.connect(port: port)
                try await connection.channel.executeThenClose { inbound, outbound in
                    var reader = inbound.makeAsyncIterator()
                    #expect(try await Self.upgrade(outbound, &reader).hasPrefix("HTTP/1.1 101"))
                    // Traffic every 500 ms keeps it open past the idle timeout (3 s in all).
                    for round in 0..<6 {
                        try await Task.sleep(for: .milliseconds(500))
                        #expect(try await Self.echo("ping-\(round)", outbound, &reader) == "ping-\(round)")
                    }
                    // Then silence: the proxy closes the client's end (the watchdog only
                    // bounds the wait when it does not)...
                    let quiet = ContinuousClock.now
                    let watchdog = connection.channel.channel.eventLoop.scheduleTask(in: .seconds(10)) {
                        connection.channel.channel.close(promise: nil)
                    }
                    #expect(try await reader.next() == nil)
                    watchdog.cancel()
                    let closedAfter = ContinuousClock.now - quiet
                    #expect(closedAfter >= .milliseconds(1500) && closedAfter < .seconds(6), "\(closedAfter)")
                }
                // ...and the upstream's, which ends the request in flight.
                try await waitFor { await server.inFlightRequests().isEmpty }
            }
        }
    }

    @Test(
        "An app that answers 101, sends a little and shuts its output at once: the bytes and the half-close reach the client"
    )
    func halfCloseRightAfterSwitch() async throws {
        let received = NIOLockedValueBox("")
        let (app, upstream) = try await Self.startApp { SwitchSayByeAndShut(received: received) }
        try await withProxy(routes: RouteTable(apps: ["ws": [upstream]])) { server, port in
            // The race it guards against (the end of input read before the switch) shows in a
            // few tries out of ten.
            for round in 0..<20 {
                let connection = try await RawConnection.connect(port: port)
                let text = try await connection.channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: Self.upgradeRequest))
                    var text = ""
                    for try await chunk in inbound { text += String(buffer: chunk) }
                    // The app only shut its output: the client can still talk to it.
                    try await outbound.write(ByteBuffer(string: "ping-\(round)"))
                    outbound.finish()
                    return text
                }
                #expect(text.hasPrefix("HTTP/1.1 101") && text.hasSuffix("\r\n\r\nbye"), "round \(round): \(text)")
                try await waitFor { received.withLockedValue { $0.contains("ping-\(round)") } }
            }
            try await waitFor { await server.inFlightRequests().isEmpty }
        }
        try await app.close()
    }

    @Test("A tunnel delivers everything the app sent before it closed, to a client that half-closed and reads slowly")
    func tunnelDrainsAfterHalfClose() async throws {
        let size = 8 << 20
        let (app, upstream) = try await Self.startApp { SendAllAfterHalfClose(size: size) }
        try await withProxy(routes: RouteTable(apps: ["ws": [upstream]])) { server, port in
            let connection = try await RawConnection.connect(port: port, receiveBuffer: 4096)
            let received = try await connection.channel.executeThenClose { inbound, outbound in
                var reader = inbound.makeAsyncIterator()
                try await outbound.write(ByteBuffer(string: Self.upgradeRequest))
                var head = ""
                while !head.contains("\r\n\r\n"), let chunk = try await reader.next() {
                    head += String(buffer: chunk)
                }
                #expect(head.hasPrefix("HTTP/1.1 101"))
                // Bytes that came after the head, in the same reads.
                let bytes = Array(head.utf8)
                let headEnd = (0...(bytes.count - 4)).first { bytes[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }
                var received = bytes.count - (headEnd ?? bytes.count - 4) - 4
                outbound.finish()  // the client is done sending; the app answers with everything
                while let chunk = try await reader.next() {
                    received += chunk.readableBytes
                    try await Task.sleep(for: .milliseconds(2))
                }
                return received
            }
            #expect(received == size)
            try await waitFor { await server.inFlightRequests().isEmpty }
        }
        try await app.close()
    }

    @Test("A client that sends its head too slowly is cut after the idle timeout")
    func slowHeaderClient() async throws {
        let configuration = ProxyConfiguration(idleTimeout: .milliseconds(300), accessLog: false)
        try await withProxy(configuration, routes: RouteTable()) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let started = ContinuousClock.now
            let (received, closed) = try await connection.exchange("GET / HTTP/1.1\r\nHo")
            #expect(closed)
            #expect(received.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("A client that stops reading the last response of a closing connection is cut after the idle timeout")
    func stalledClientOnClosingConnection() async throws {
        // More than the kernel buffers take, little enough for the proxy to read it all: the
        // response ends upstream while the client still has most of it to read.
        let bodySize = 4 << 20
        let upstream = try await RawUpstream.start(
            head: "HTTP/1.1 200 OK\r\nContent-Length: \(bodySize)", bodySize: bodySize)
        // Long enough for the client to send its request on a busy machine.
        let configuration = ProxyConfiguration(idleTimeout: .seconds(1), accessLog: false)
        try await withProxy(configuration, routes: RouteTable(apps: ["big": [upstream.upstream]])) { server, port in
            // A client that never reads, with a small receive buffer.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: port)
                .get()
            try await client.writeAndFlush(
                ByteBuffer(string: "GET / HTTP/1.1\r\nHost: big.localhost\r\nConnection: close\r\n\r\n")
            )
            try await Task.sleep(for: .seconds(3))
            #expect(await server.forEachLoop { $0.connectionCount }.reduce(0, +) == 0)
            try? await client.close()
        }
        await upstream.stop()
    }

    @Test("A request head over the limit gets 431")
    func headerTooLarge() async throws {
        try await withProxy(routes: RouteTable()) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let big = String(repeating: "a", count: 40 * 1024)
            let (received, closed) = try await connection.exchange(
                "GET / HTTP/1.1\r\nHost: x.localhost\r\nX-Big: \(big)\r\n\r\n"
            )
            #expect(received.hasPrefix("HTTP/1.1 431"))
            #expect(closed)
        }
    }

    @Test(
        "A client still sending after the proxy answered can finish, then read the answer (lingering close)",
        arguments: [
            ("GET / HTTP/1.1\r\nHost: x.localhost\r\nX-Big: \(String(repeating: "a", count: 40 * 1024))\r\n", "431"),
            ("POST /upload HTTP/1.1\r\nHost: nosuch.localhost\r\nContent-Length: 1000000000\r\n\r\n", "404"),
        ])
    func lingeringClose(head: String, status: String) async throws {
        try await withProxy(routes: RouteTable()) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let received = try await connection.channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: head))
                try await Task.sleep(for: .milliseconds(200))  // the proxy has answered by now
                // 64 MiB more: far beyond what socket buffers hold once the proxy stopped reading.
                let chunk = ByteBuffer(repeating: UInt8(ascii: "b"), count: 1 << 20)
                for _ in 0..<64 { try await outbound.write(chunk) }
                outbound.finish()
                var received = ""
                for try await part in inbound { received += String(buffer: part) }
                return received  // the peer closed: the loop ended without an error
            }
            #expect(received.hasPrefix("HTTP/1.1 \(status)"), "\(received.prefix(200))")
        }
    }

    @Test("A request read to its end and answered with a close is closed at once, without lingering")
    func noLingerAfterACompleteRequest() async throws {
        try await withProxy(routes: RouteTable()) { server, port in
            // A client that keeps its side open and never reads: only the proxy can close.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .connect(host: "127.0.0.1", port: port)
                .get()
            try await client.writeAndFlush(
                ByteBuffer(string: "GET / HTTP/1.1\r\nHost: nosuch.localhost\r\nConnection: close\r\n\r\n"))
            try await Task.sleep(for: .milliseconds(500))
            #expect(await server.forEachLoop { $0.connectionCount }.reduce(0, +) == 0, "the proxy lingered")
            try? await client.close()
        }
    }

    @Test("A smuggling attempt (Content-Length with Transfer-Encoding) gets 400 and never reaches the app")
    func smugglingRefused() async throws {
        try await withUpstreams(["app"]) { upstreams in
            try await withProxy(routes: RouteTable(apps: ["app": [upstreams[0].upstream]])) { _, port in
                let connection = try await RawConnection.connect(port: port)
                let smuggled = "GET /admin HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                let (received, closed) = try await connection.exchange(
                    "POST / HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 4\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
                )
                #expect(received.hasPrefix("HTTP/1.1 400"))
                #expect(closed)
                #expect(upstreams[0].receivedRequests == 0)
            }
        }
    }

    @Test("An upgrade request the proxy answers itself closes the connection: nothing after it is parsed")
    func upgradeAnsweredLocally() async throws {
        try await withProxy(routes: RouteTable()) { _, port in
            let connection = try await RawConnection.connect(port: port)
            let (received, closed) = try await connection.exchange(
                "GET / HTTP/1.1\r\nHost: nosuch.localhost\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n"
                    + "GET / HTTP/1.1\r\nHost: nosuch.localhost\r\n\r\n"
            )
            #expect(received.hasPrefix("HTTP/1.1 404"))
            #expect(received.lowercased().contains("connection: close"))
            #expect(received.components(separatedBy: "HTTP/1.1 ").count == 2, "one answer only: \(received)")
            #expect(closed)
        }
    }

    /// A WebSocket upgrade request for `/ws` on `ws.localhost`.
    private static let upgradeRequest =
        "GET /ws HTTP/1.1\r\nHost: ws.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"

    /// Starts an app on a free loopback port that sees half-closes, each connection handled by
    /// a new `handler()`; returns its channel (to close) and where the proxy reaches it.
    private static func startApp(
        _ handler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> (channel: any Channel, upstream: Upstream) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler()) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return (channel, Upstream(host: "127.0.0.1", port: channel.localAddress!.port!))
    }

    /// Sends the upgrade request for `/ws` on `ws.localhost` and returns the response head.
    static func upgrade(
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ reader: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    ) async throws -> String {
        try await outbound.write(ByteBuffer(string: upgradeRequest))
        var head = ""
        while !head.contains("\r\n\r\n"), let chunk = try await reader.next() {
            head += String(buffer: chunk)
        }
        return head
    }

    /// Sends `message` through an open tunnel to the echoing upstream and returns what came back.
    static func echo(
        _ message: String,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        _ reader: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    ) async throws -> String {
        try await outbound.write(ByteBuffer(string: message))
        var echoed = ""
        while echoed.utf8.count < message.utf8.count, let chunk = try await reader.next() {
            echoed += String(buffer: chunk)
        }
        return echoed
    }
}

/// An app behind an upgrade that waits for the client to half-close, then sends `size` bytes
/// and closes once they are written.
private final class SendAllAfterHalfClose: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let size: Int
    private var head = ""

    init(size: Int) {
        self.size = size
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !head.contains("\r\n\r\n") else { return }
        head += String(buffer: unwrapInboundIn(data))
        if head.contains("\r\n\r\n") {
            let switched = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: switched)), promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else { return }
        let body = ByteBuffer(repeating: UInt8(ascii: "b"), count: size)
        context.writeAndFlush(wrapOutboundOut(body)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// An app that switches protocols, sends `bye` and shuts its output in the same instant, then
/// notes what the client sends it until the client is done.
private final class SwitchSayByeAndShut: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let received: NIOLockedValueBox<String>
    private var head = ""

    init(received: NIOLockedValueBox<String>) {
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = String(buffer: unwrapInboundIn(data))
        guard !head.contains("\r\n\r\n") else {
            received.withLockedValue { $0 += text }
            return
        }
        head += text
        if head.contains("\r\n\r\n") {
            let switched =
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nbye"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: switched)), promise: nil)
            context.close(mode: .output, promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }
}
