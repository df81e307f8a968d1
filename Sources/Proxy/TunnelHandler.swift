import NIOCore

/// One end of a byte tunnel between a client and an upstream connection after an Upgrade
/// (WebSocket and the like). Reads only while the other end is writable, passes a half-close on
/// as a half-close, and closes its connection once both directions are shut.
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var inputClosed = false
    private var outputClosed = false
    /// Runs once when this end's connection closes.
    private var onClose: (() -> Void)?

    private init(onClose: (() -> Void)?) {
        self.onClose = onClose
    }

    /// Makes the two ends; `onUpstreamClose` runs once when the tunnel is gone.
    static func makePair(onUpstreamClose: @escaping () -> Void) -> (client: TunnelHandler, upstream: TunnelHandler) {
        let client = TunnelHandler(onClose: nil)
        let upstream = TunnelHandler(onClose: onUpstreamClose)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClose()
        partner = nil
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        inputClosed = true
        partner?.partnerShutdownOutput()
        if outputClosed {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.isWritable ?? true {
            context.read()
        } else {
            readPending = true
        }
    }

    // MARK: Calls from the other end

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ data: ByteBuffer) {
        context?.write(wrapOutboundOut(data), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    private func partnerShutdownOutput() {
        guard let context, !outputClosed else { return }
        outputClosed = true
        // Shut the output only after what was written before it has gone out.
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
            if self.inputClosed {
                context.close(promise: nil)
            }
        }
    }

    private func partnerClose() {
        context?.close(promise: nil)
    }

    private func partnerBecameWritable() {
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}
