import NIOCore
import NIOHTTP1

/// The last handler of an upstream connection's pipeline: hands response parts to the client
/// connection that owns it, and reads only while that client can take more.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The client connection whose request this connection carries; nil while pooled.
    var owner: ClientHandler?
    /// The pool the connection belongs to; nil once closed.
    var pool: UpstreamPool?
    /// Whether the connection already carried a request (a reused one may have been closed by
    /// the upstream in the meantime, which makes a retry safe).
    var hasCarriedRequests = false

    private var context: ChannelHandlerContext?
    private var readPending = false

    var isActive: Bool { context?.channel.isActive ?? false }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else {
            // A pooled connection has nothing to say; whatever it sends makes it unusable.
            context.close(promise: nil)
            return
        }
        owner.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        pool?.connectionClosed(self)
        pool = nil
        owner?.upstreamClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // channelInactive follows and tells the owner.
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let owner, !owner.wantsUpstreamRead {
            readPending = true
        } else {
            context.read()
        }
    }

    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    /// Reads again if a read was held back while the client was not writable.
    func resumeReading() {
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func close() {
        context?.close(promise: nil)
    }
}
