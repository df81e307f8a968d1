import NIOCore
import NIOHTTP1

/// The first handler of an HTTPS connection: a client that speaks plain HTTP to the HTTPS
/// port (`curl http://host:443/`) gets a 400 that says so, as nginx answers, instead of a
/// connection closed without a word. A TLS client's bytes (a handshake record, `0x16`) and
/// anything else pass on to TLS, and this handler leaves the pipeline. The 400 is counted and
/// logged as a request that matched no route.
final class PlainHTTPDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let loop: LoopContext
    /// The 400 is on its way: what the client still sends is dropped until the connection closes.
    private var answered = false

    init(loop: LoopContext) {
        self.loop = loop
    }

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
        let response = LocalResponse.plainHTTPOnHTTPSPort
        loop.unrouted.count(statusCode: Int(response.status.code))
        if loop.settings.accessLog { log(response, requestLine: bytes) }
        let answer = response.bytes(
            keepAlive: false, clientVersion: .http1_1, isHEAD: false, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(answer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// The access log line of the refused request: its method and target as the request line
    /// of `bytes` (the start of the request) names them.
    private func log(_ response: LocalResponse, requestLine bytes: ByteBuffer) {
        let line = bytes.readableBytesView.prefix(while: { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") })
        let words = line.split(separator: UInt8(ascii: " "), maxSplits: 2).map { String(decoding: $0, as: UTF8.self) }
        var exchange = ExchangeRecord()
        exchange.begin(method: HTTPMethod(rawValue: words[0]), uri: words.count > 1 ? words[1] : "", version: .http1_1)
        exchange.status = Int(response.status.code)
        exchange.responseBytes = response.text.utf8.count
        loop.logger.logExchange(exchange, route: nil, requestID: nil)
    }
}
