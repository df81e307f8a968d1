import NIOCore

/// The last handler of an upstream connection's pipeline: reads responses with a
/// ``ResponseReader``, hands them to the client connection that owns it, and reads only while
/// that client can take more.
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The client connection whose request this connection carries; nil while pooled.
    var owner: ClientHandler?
    /// The pool the connection belongs to; nil once closed.
    var pool: UpstreamPool?
    /// Whether the connection already carried a request (a reused one may have been closed by
    /// the upstream in the meantime, which makes a retry safe).
    var hasCarriedRequests = false
    /// Whether any byte of the response to the last request sent arrived: only a request
    /// without one may be sent again (the upstream may have acted on it otherwise).
    private(set) var hasResponseBytes = false
    /// The connection failed (a reset, a protocol error) rather than closed: a body that
    /// ends with the connection was cut short, not completed.
    private var failed = false

    /// The upstream shut its output between its `101` and the switch to a tunnel: the tunnel
    /// passes that half-close on once it exists.
    private(set) var inputClosedBeforeSwitch = false

    private var context: ChannelHandlerContext?
    private var readPending = false
    private var reader = ResponseReader()

    var isActive: Bool { context?.channel.isActive ?? false }
    /// Whether bytes arrived that belong to no response.
    var hasUnreadBytes: Bool { reader.hasUnreadBytes }
    /// The channel's writability, as its last change said (asking the channel costs more).
    private(set) var isWritable = true
    /// Bytes were written since the last flush.
    private(set) var hasUnflushedWrites = false
    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        hasResponseBytes = true
        reader.feed(unwrapInboundIn(data))
        do {
            while let event = try reader.next() {
                guard let owner else {
                    // Nobody asked: a pooled connection that speaks is unusable.
                    context.close(promise: nil)
                    return
                }
                owner.upstreamRead(event)
            }
        } catch {
            fail()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        owner?.upstreamWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A body delimited by the end of the connection ends here, unless the connection
        // failed; a cut one is an error, which the owner learns from `upstreamClosed`.
        if !failed, let end = try? reader.inputClosed() {
            owner?.upstreamRead(end)
        }
        pool?.connectionClosed(self)
        pool = nil
        owner?.upstreamClosed(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail()
    }

    /// An end of input, seen as such only on a connection that carries an upgrade request
    /// (``allowHalfClosure()``): kept for the tunnel once the `101` was accepted; otherwise the
    /// end of the connection, as on any other.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case ChannelEvent.inputClosed = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if owner?.isSwitchingToTunnel == true {
            inputClosedBeforeSwitch = true
        } else {
            context.close(promise: nil)
        }
    }

    /// Makes an end of input an event (``userInboundEventTriggered(context:event:)``) rather
    /// than the close of the connection.
    func allowHalfClosure() {
        try? context?.channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
    }

    /// Closes the connection as failed; channelInactive follows and tells the owner.
    func fail() {
        failed = true
        context?.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if let owner, !owner.wantsUpstreamRead {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Sends a request head and readies the reader for its response. `dechunksResponse`: the
    /// client speaks HTTP/1.0 and cannot take a chunked body.
    func sendHead(_ head: ByteBuffer, toHEAD: Bool, dechunksResponse: Bool) {
        reader.expectResponse(toHEAD: toHEAD, dechunksBody: dechunksResponse)
        hasResponseBytes = false
        write(head)
    }

    /// Sends request body bytes, framed as the client framed them.
    func write(_ bytes: ByteBuffer) {
        hasUnflushedWrites = true
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    /// The bytes that came after a `101 Switching Protocols` head: the tunnel's first.
    func takeBytesAfterSwitch() -> ByteBuffer? {
        reader.takeBufferedBytes()
    }

    /// Flushes what was written since the last flush, if anything.
    func flush() {
        if hasUnflushedWrites {
            hasUnflushedWrites = false
            context?.flush()
        }
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
