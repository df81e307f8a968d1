import NIOCore

/// One end of a byte tunnel between a client and an upstream connection after an Upgrade
/// (WebSocket and the like). Reads only while the other end is writable, passes a half-close on
/// as a half-close, and closes its connection once both directions are shut. What one end
/// read is delivered by the other before it shuts or closes, even when the first end's
/// connection is already gone (within ``lingerTimeout``). A tunnel that carries no byte in
/// either direction for its idle timeout is closed at both ends; the client end keeps that
/// watch (both ends run on the client's event loop).
final class TunnelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: TunnelHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var inputClosed = false
    /// The output is being shut: what was written before is still going out.
    private var outputClosing = false
    /// The output is shut.
    private var outputClosed = false
    /// The partner is gone: close this connection once what it sent is delivered.
    private var closesAfterOutput = false
    /// How long this end may take to deliver what a partner that is gone sent.
    private let lingerTimeout: TimeAmount
    private var lingerTask: Scheduled<Void>?
    /// For the client end: how long the tunnel may carry nothing; `nil` for the upstream end.
    private let idleTimeout: TimeAmount?
    private var idleCheck: Scheduled<Void>?
    /// When this end last read something.
    private var lastRead = NIODeadline.now()
    /// Runs once when this end's connection closes.
    private var onClose: (() -> Void)?

    private init(lingerTimeout: TimeAmount, idleTimeout: TimeAmount?, onClose: (() -> Void)?) {
        self.lingerTimeout = lingerTimeout
        self.idleTimeout = idleTimeout
        self.onClose = onClose
    }

    /// Makes the two ends; `onUpstreamClose` runs once when the tunnel is gone. An end whose
    /// partner closed gets `lingerTimeout` to deliver what the partner sent before it closes;
    /// a tunnel idle for `idleTimeout` is closed.
    static func makePair(
        lingerTimeout: TimeAmount,
        idleTimeout: TimeAmount,
        onUpstreamClose: @escaping () -> Void
    ) -> (client: TunnelHandler, upstream: TunnelHandler) {
        let client = TunnelHandler(lingerTimeout: lingerTimeout, idleTimeout: idleTimeout, onClose: nil)
        let upstream = TunnelHandler(lingerTimeout: lingerTimeout, idleTimeout: nil, onClose: onUpstreamClose)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let idleTimeout {
            scheduleIdleCheck(at: lastRead + idleTimeout, on: context.eventLoop)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lingerTask?.cancel()
        lingerTask = nil
        idleCheck?.cancel()
        idleCheck = nil
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        partner?.partnerWrite(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.partnerFlush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.partnerClosed()
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
        inputEnded(context: context)
    }

    /// The peer of this end shut its output before the tunnel existed: handled as if the
    /// event came now.
    func inputClosedBeforeSwitch() {
        if let context { inputEnded(context: context) }
    }

    private func inputEnded(context: ChannelHandlerContext) {
        inputClosed = true
        partner?.finishOutput(closeAfter: false)
        // Once a shut output is done too, both directions are over (while it is still being
        // shut, its completion closes).
        if outputClosed {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS client's half-close without close_notify is still a half-close.
        guard !isRaggedTLSEnd(error) else { return }
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

    // MARK: Idle watch (client end)

    private func scheduleIdleCheck(at deadline: NIODeadline, on eventLoop: any EventLoop) {
        idleCheck = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.checkIdle() }
    }

    /// Closes both ends when neither read anything for the idle timeout; otherwise looks
    /// again when that time would be up.
    private func checkIdle() {
        guard let idleTimeout, let context else { return }
        let lastActivity = max(lastRead, partner?.lastRead ?? lastRead)
        let deadline = lastActivity + idleTimeout
        guard deadline <= .now() else {
            scheduleIdleCheck(at: deadline, on: context.eventLoop)
            return
        }
        idleCheck = nil
        partner?.context?.close(promise: nil)
        context.close(promise: nil)
    }

    // MARK: Calls from the other end

    private var isWritable: Bool { context?.channel.isWritable ?? false }

    private func partnerWrite(_ data: ByteBuffer) {
        context?.write(wrapOutboundOut(data), promise: nil)
    }

    private func partnerFlush() {
        context?.flush()
    }

    /// Delivers what was written so far, then shuts this end's output, or closes the whole
    /// connection when its input is over too or `closeAfter` (the partner is gone).
    private func finishOutput(closeAfter: Bool) {
        guard let context else { return }
        if closeAfter && !closesAfterOutput {
            closesAfterOutput = true
            lingerTask = context.eventLoop.assumeIsolated().scheduleTask(in: lingerTimeout) {
                context.close(promise: nil)
            }
        }
        if outputClosed {
            if closesAfterOutput {
                context.close(promise: nil)
            }
            return
        }
        guard !outputClosing else { return }  // its completion sees `closesAfterOutput`
        outputClosing = true
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in
            self.outputClosed = true
            if self.inputClosed || self.closesAfterOutput {
                context.close(promise: nil)
            } else {
                context.close(mode: .output, promise: nil)
            }
        }
    }

    /// The partner's connection is gone: deliver what it sent, then close.
    private func partnerClosed() {
        finishOutput(closeAfter: true)
    }

    private func partnerBecameWritable() {
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}
