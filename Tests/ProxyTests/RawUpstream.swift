import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxy

/// A loopback server that answers every request with a fixed, hand-written response head and a
/// body of `bodySize` bytes (`b`), then closes the connection: for the framings an HTTP server
/// library will not produce, such as a body delimited by the connection closing.
/// A `HEAD` request gets the head only. The body is written only while the connection is
/// writable, so a client that stops reading stalls it.
final class RawUpstream: Sendable {
    let port: Int
    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>
    private let bodyWritten: NIOLockedValueBox<Int>

    var upstream: Upstream { Upstream(host: "127.0.0.1", port: port) }
    var acceptedConnections: Int { accepted.withLockedValue { $0 } }
    /// Body bytes handed to the kernel so far, over all connections.
    var bodyBytesWritten: Int { bodyWritten.withLockedValue { $0 } }

    private init(channel: any Channel, accepted: NIOLockedValueBox<Int>, bodyWritten: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.port = channel.localAddress!.port!
        self.accepted = accepted
        self.bodyWritten = bodyWritten
    }

    /// Starts a server answering `head` (status line and header lines, without the blank line
    /// that ends them, which is `CRLF CRLF` unless `headEnd` says otherwise) and `bodySize`
    /// bytes of body.
    static func start(head: String, headEnd: String = "\r\n\r\n", bodySize: Int) async throws -> RawUpstream {
        let accepted = NIOLockedValueBox(0)
        let bodyWritten = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        CloseDelimitedResponder(head: head + headEnd, bodySize: bodySize, bodyWritten: bodyWritten)
                    )
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawUpstream(channel: channel, accepted: accepted, bodyWritten: bodyWritten)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Waits for one request head, answers it and closes.
private final class CloseDelimitedResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let head: String
    private let bodyWritten: NIOLockedValueBox<Int>
    private var remaining: Int
    private var received = ""
    private var isAnswering = false

    init(head: String, bodySize: Int, bodyWritten: NIOLockedValueBox<Int>) {
        self.head = head
        self.remaining = bodySize
        self.bodyWritten = bodyWritten
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isAnswering else { return }
        received += String(buffer: unwrapInboundIn(data))
        guard received.contains("\r\n\r\n") else { return }
        isAnswering = true
        if received.hasPrefix("HEAD ") {
            remaining = 0
        }
        context.write(wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
        writeBody(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if isAnswering && context.channel.isWritable {
            writeBody(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    private func writeBody(context: ChannelHandlerContext) {
        let chunk = ByteBuffer(repeating: UInt8(ascii: "b"), count: 64 * 1024)
        while remaining > 0 && context.channel.isWritable {
            let slice = chunk.getSlice(at: 0, length: min(remaining, chunk.readableBytes))!
            remaining -= slice.readableBytes
            context.write(wrapOutboundOut(slice)).assumeIsolated().whenSuccess { [bodyWritten] in
                bodyWritten.withLockedValue { $0 += slice.readableBytes }
            }
        }
        guard remaining == 0 else {
            context.flush()
            return
        }
        isAnswering = false
        remaining = -1
        // Closing with writes pending would drop them: close once the last one went out.
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
