import NIOCore

/// The first handler of an HTTPS connection: a client that speaks plain HTTP to the HTTPS
/// port (`curl http://host:443/`) gets a 400 that says so, as nginx answers, instead of a
/// connection closed without a word. A TLS client's bytes (a handshake record, `0x16`) and
/// anything else pass on to TLS, and this handler leaves the pipeline.
final class PlainHTTPDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The 400 is on its way: what the client still sends is dropped until the connection closes.
    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first)
        else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        answered = true
        let answer = LocalResponse.plainHTTPOnHTTPSPort.bytes(
            keepAlive: false, clientVersion: .http1_1, isHEAD: false, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
