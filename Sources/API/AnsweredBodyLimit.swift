import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client goes on sending a request body the API has already
/// answered: a refused upload (401, 413, 400) followed by more than ``limit`` bytes. Also
/// answers `Expect: 100-continue`, which Hummingbird leaves unanswered.
///
/// Hummingbird reads and drops the rest of an answered body to keep the connection alive, so
/// without this a client could stream an endless body after its 401, or past `--max-upload`
/// after its 413. Clients that stop sending on an early answer (AsyncHTTPClient, curl) never
/// come near the limit. Goes in the HTTP/1 pipeline after the codec.
final class AnsweredBodyLimit: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How many bytes of body may follow the answer before the connection is closed.
    static let limit = 1 << 20

    /// Request heads read, and responses written to their end, on this connection. Requests
    /// are answered in order, so the request being read has been answered once as many
    /// responses ended as heads were read (a pipelined request read while the one before is
    /// answered has not).
    private var headsRead = 0
    private var responsesEnded = 0
    /// Body bytes of the request being read since its answer.
    private var bytesAfterAnswer = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headsRead += 1
            bytesAfterAnswer = 0
            // Hummingbird does not answer `Expect: 100-continue`; curl then waits a second
            // before it sends an upload's body. (A refused one is cut as above.)
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
        case .body(let buffer) where responsesEnded == headsRead:
            bytesAfterAnswer += buffer.readableBytes
            if bytesAfterAnswer > Self.limit {
                context.close(promise: nil)
                return
            }
        case .body, .end:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            responsesEnded += 1
        }
        context.write(data, promise: promise)
    }
}

/// The channel handlers the API's HTTP/1 server adds to each connection, after the codec
/// (Hummingbird's `additionalChannelHandlers`).
public func makeAPIChannelHandlers() -> [any RemovableChannelHandler] { [AnsweredBodyLimit()] }
