import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@testable import Proxy

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback server on kept-alive connections that answers each request (head only, no
/// body) as `script` says for its request line: the failures an upstream shows only
/// sometimes, such as dying mid-answer or on a connection it kept.
final class ScriptedUpstream: Sendable {
    /// What the server does with one request.
    enum Action: Sendable {
        /// Writes these bytes (a whole response) and keeps the connection.
        case respond(String)
        /// Writes these bytes, then resets the connection (SO_LINGER 0).
        case writeThenReset(String)
        /// Closes the connection without a byte.
        case close
    }

    let port: Int
    private let channel: any Channel
    private let requestLines: NIOLockedValueBox<[String]>

    var upstream: Upstream { Upstream(host: "127.0.0.1", port: port) }
    /// The request lines received so far (`GET /x HTTP/1.1`), in order.
    var received: [String] { requestLines.withLockedValue { $0 } }

    private init(channel: any Channel, requestLines: NIOLockedValueBox<[String]>) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.requestLines = requestLines
    }

    static func start(_ script: @escaping @Sendable (_ requestLine: String) -> Action) async throws -> ScriptedUpstream
    {
        let requestLines = NIOLockedValueBox<[String]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptedResponder(script: script, requestLines: requestLines))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return ScriptedUpstream(channel: channel, requestLines: requestLines)
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ScriptedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let script: @Sendable (String) -> ScriptedUpstream.Action
    private let requestLines: NIOLockedValueBox<[String]>
    private var pending = ""

    init(script: @escaping @Sendable (String) -> ScriptedUpstream.Action, requestLines: NIOLockedValueBox<[String]>) {
        self.script = script
        self.requestLines = requestLines
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += String(buffer: unwrapInboundIn(data))
        while let end = pending.range(of: "\r\n\r\n") {
            let requestLine = String(pending[..<end.lowerBound].prefix { $0 != "\r" })
            pending = String(pending[end.upperBound...])
            requestLines.withLockedValue { $0.append(requestLine) }
            switch script(requestLine) {
            case .respond(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)), promise: nil)
            case .writeThenReset(let bytes):
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes))).assumeIsolated().whenComplete { _ in
                    let provider = context.channel as? any SocketOptionProvider
                    let set = provider?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                    set?.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                }
                return
            case .close:
                context.close(promise: nil)
                return
            }
        }
    }
}
