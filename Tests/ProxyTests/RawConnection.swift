import NIOCore
import NIOPosix

/// A raw TCP client for what an HTTP client library will not do: pipelining, slow heads,
/// hand-written headers, upgrades and half-closes.
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func connect(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                        wrappingChannelSynchronously: channel,
                        configuration: .init(isOutboundHalfClosureEnabled: true)
                    )
                }
            }
        return RawConnection(channel: channel)
    }

    /// Sends `text`, then reads until `isDone` accepts what arrived or the peer closes.
    /// Returns everything read and whether the peer closed.
    func exchange(
        _ text: String?,
        halfCloseAfter: Bool = false,
        until isDone: @escaping @Sendable (String) -> Bool = { _ in false }
    ) async throws -> (received: String, closed: Bool) {
        try await channel.executeThenClose { inbound, outbound in
            if let text {
                try await outbound.write(ByteBuffer(string: text))
            }
            if halfCloseAfter {
                outbound.finish()
            }
            var received = ""
            for try await chunk in inbound {
                received += String(buffer: chunk)
                if isDone(received) { return (received, false) }
            }
            return (received, true)
        }
    }
}
