import NIOCore

/// Reads the engine's answer to an attach that takes the connection over (`Upgrade: tcp`): its
/// head, up to the blank line, completes `answered` (101 or 200; anything else fails it with the
/// engine's words), then every byte after it goes on as the container's output.
final class AttachAnswerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The most bytes the head may take.
    static let maxHeadBytes = 64 << 10
    private static let headEnd = Array("\r\n\r\n".utf8)

    private let answered: EventLoopPromise<Void>
    /// The head read so far; nil once it was all read.
    private var head: ByteBuffer? = ByteBuffer()

    init(answered: EventLoopPromise<Void>) {
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var pending = head else { return context.fireChannelRead(data) }
        var chunk = unwrapInboundIn(data)
        pending.writeBuffer(&chunk)
        guard let end = pending.readableBytesView.firstRange(of: Self.headEnd) else {
            head = pending
            if pending.readableBytes > Self.maxHeadBytes {
                fail(context, DockerError.badResponse("the engine's answer to an attach has no end to its head"))
            }
            return
        }
        head = nil
        let text = pending.readString(length: end.upperBound - pending.readerIndex) ?? ""
        let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
        guard status == 101 || status == 200 else {
            let message = pending.readString(length: pending.readableBytes) ?? ""
            return fail(context, DockerError.engine(status: status, message: "attach refused: \(message)"))
        }
        answered.succeed()
        if pending.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(pending)) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answered.fail(DockerError.badResponse("the engine closed the attach connection before it answered"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        answered.fail(error)
        context.fireErrorCaught(error)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: DockerError) {
        answered.fail(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
