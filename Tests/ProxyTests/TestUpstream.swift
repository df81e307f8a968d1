import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Proxy

/// A real HTTP/1.1 server on loopback standing in for an app instance. Paths:
/// `/echo` answers the method, target and request headers as `name: value` lines; `/delay` answers after 1 s; `/upload` counts the body;
/// `/download/N` streams N bytes; `/chunked` answers in chunks; `/status/N` answers status N
/// without a body; `/slow` never answers; `/close` drops the connection; `/ws` upgrades to a
/// byte echo. Every answer carries `x-upstream: <name>`.
final class TestUpstream: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel
    private let counters: NIOLockedValueBox<UpstreamCounters>

    var upstream: Upstream { Upstream(host: "127.0.0.1", port: port) }
    var acceptedConnections: Int { counters.withLockedValue { $0.accepted } }
    var closedConnections: Int { counters.withLockedValue { $0.closed } }
    /// Request heads received, over all connections.
    var receivedRequests: Int { counters.withLockedValue { $0.requests } }

    private init(name: String, channel: any Channel, counters: NIOLockedValueBox<UpstreamCounters>) {
        self.name = name
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.counters = counters
    }

    static func start(name: String) async throws -> TestUpstream {
        let counters = NIOLockedValueBox(UpstreamCounters())
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.withLockedValue { $0.accepted += 1 }
                channel.closeFuture.whenComplete { _ in counters.withLockedValue { $0.closed += 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    let upgrade: NIOHTTPServerUpgradeConfiguration = (
                        upgraders: [EchoUpgrader()], completionHandler: { _ in }
                    )
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withServerUpgrade: upgrade)
                    try channel.pipeline.syncOperations.addHandler(TestUpstreamHandler(name: name, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TestUpstream(name: name, channel: channel, counters: counters)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// What a ``TestUpstream`` has seen.
struct UpstreamCounters {
    var accepted = 0
    var closed = 0
    var requests = 0
}

private final class TestUpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    private var head: HTTPRequestHead?
    private var receivedBytes = 0
    private var download: (remaining: Int, context: ChannelHandlerContext)?

    private let counters: NIOLockedValueBox<UpstreamCounters>

    init(name: String, counters: NIOLockedValueBox<UpstreamCounters>) {
        self.name = name
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            counters.withLockedValue { $0.requests += 1 }
            receivedBytes = 0
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(.init(version: .http1_1, status: .continue))), promise: nil)
            }
        case .body(let body):
            receivedBytes += body.readableBytes
        case .end:
            guard let head else { return }
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch path {
        case "/slow":
            return
        case "/delay":
            context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) {
                self.send("hello from \(self.name)", status: .ok, context: context, method: head.method)
            }
        case "/close":
            context.close(promise: nil)
        case "/echo":
            var lines = "method: \(head.method.rawValue)\ntarget: \(head.uri)\n"
            for (name, value) in head.headers {
                lines += "\(name.lowercased()): \(value)\n"
            }
            var extra = HTTPHeaders()
            extra.add(name: "connection", value: "x-upstream-secret")
            extra.add(name: "x-upstream-secret", value: "1")
            extra.add(name: "keep-alive", value: "timeout=30")
            send(lines, status: .ok, extraHeaders: extra, context: context, method: head.method)
        case "/upload":
            send("received \(receivedBytes)", status: .ok, context: context, method: head.method)
        case "/chunked":
            var headers = HTTPHeaders()
            headers.add(name: "x-upstream", value: name)
            headers.add(name: "transfer-encoding", value: "chunked")
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            for part in ["first,", "second,", "third"] {
                context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: part)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case _ where path.hasPrefix("/status/"):
            let code = Int(path.dropFirst("/status/".count)) ?? 500
            var headers = HTTPHeaders()
            headers.add(name: "x-upstream", value: name)
            if code == 304 { headers.add(name: "etag", value: "\"v1\"") }
            context.write(
                wrapOutboundOut(.head(.init(version: .http1_1, status: .init(statusCode: code), headers: headers))),
                promise: nil
            )
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case _ where path.hasPrefix("/download/"):
            let size = Int(path.dropFirst("/download/".count)) ?? 0
            var headers = HTTPHeaders()
            headers.add(name: "x-upstream", value: name)
            headers.add(name: "content-length", value: String(size))
            context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            download = (size, context)
            writeDownload()
        default:
            send("hello from \(name)", status: .ok, context: context, method: head.method)
        }
    }

    /// Writes the download while the connection is writable, so the test server itself never
    /// buffers more than a few chunks.
    private func writeDownload() {
        guard let (initialRemaining, context) = download else { return }
        var remaining = initialRemaining
        let chunk = ByteBuffer(repeating: UInt8(ascii: "d"), count: 64 * 1024)
        while remaining > 0 && context.channel.isWritable {
            let slice = chunk.getSlice(at: 0, length: min(remaining, chunk.readableBytes))!
            remaining -= slice.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
        }
        if remaining == 0 {
            download = nil
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            download = (remaining, context)
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { writeDownload() }
        context.fireChannelWritabilityChanged()
    }

    private func send(
        _ text: String,
        status: HTTPResponseStatus,
        extraHeaders: HTTPHeaders = [:],
        context: ChannelHandlerContext,
        method: HTTPMethod
    ) {
        var headers = extraHeaders
        headers.add(name: "x-upstream", value: name)
        headers.add(name: "content-length", value: String(text.utf8.count))
        context.write(wrapOutboundOut(.head(.init(version: .http1_1, status: status, headers: headers))), promise: nil)
        if method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// Switches `Upgrade: websocket` requests to a byte echo (a stand-in for a WebSocket app).
private final class EchoUpgrader: HTTPServerProtocolUpgrader, Sendable {
    let supportedProtocol = "websocket"
    let requiredUpgradeHeaders: [String] = []

    func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeSucceededFuture(initialResponseHeaders)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        context.eventLoop.makeCompletedFuture {
            // Plain HTTP treats an end of input as the peer leaving; the echo answers it in kind.
            try context.channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
            let pipeline = context.pipeline.syncOperations
            pipeline.removeHandler(try pipeline.handler(type: TestUpstreamHandler.self), promise: nil)
            try pipeline.addHandler(EchoHandler())
        }
    }
}

/// Echoes bytes; answers a half-close with a half-close.
private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            context.close(mode: .output, promise: nil)
        }
    }
}
