import NIOCore
import NIOHTTP1

/// Upgrades (WebSocket and others): once the upstream answers `101 Switching Protocols`, both
/// connections drop their HTTP handlers and become the two ends of a byte tunnel.
extension ClientHandler {
    func acceptUpgrade(head: inout HTTPResponseHead) {
        guard let context else { return }
        exchange.status = Int(head.status.code)
        var keepAlive = true
        HeaderRewriting.prepareResponse(
            &head,
            requestMethod: exchange.method,
            clientVersion: exchange.clientVersion,
            keepAlive: &keepAlive
        )
        state.upgradeAccepted()
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
    }

    /// Called at the end of the 101 response. The switch happens once the decoders have
    /// finished the read they are in; bytes they hold by then are passed on to the tunnel.
    func completeUpgrade() {
        loop.eventLoop.assumeIsolated().execute {
            self.switchToTunnel()
        }
    }

    private func switchToTunnel() {
        guard state.phase == .upgrading, let context, let connection = upstream,
            let upstreamChannel = connection.channel, let pool
        else {
            close()
            return
        }
        recordExchange()
        // The tunnel now owns the connection and its in-flight count, until it closes.
        upstream = nil
        self.pool = nil
        connection.owner = nil
        connection.pool = nil
        cancelTimer()
        let tunnel = TunnelHandler.makePair { pool.inFlight -= 1 }
        let clientChannel = context.channel
        let client = clientChannel.pipeline.syncOperations
        let upstream = upstreamChannel.pipeline.syncOperations
        do {
            // HTTP connections treat an end of input as the peer leaving; a tunnel passes it on.
            try clientChannel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
            try upstreamChannel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
            try upstream.addHandler(tunnel.upstream)
        } catch {
            pool.inFlight -= 1
            clientChannel.close(promise: nil)
            upstreamChannel.close(promise: nil)
            return
        }
        do {
            try client.addHandler(tunnel.client)
            // Encoders and our handlers first, so the bytes the decoders forward on removal
            // reach the tunnel and leave unencoded.
            client.removeHandler(self, promise: nil)
            upstream.removeHandler(connection, promise: nil)
            client.removeHandler(try client.handler(type: HTTPResponseEncoder.self), promise: nil)
            upstream.removeHandler(try upstream.handler(type: HTTPRequestEncoder.self), promise: nil)
            upstream.removeHandler(try upstream.handler(type: LineEndingRepairHandler.self), promise: nil)
            client.removeHandler(
                try client.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self),
                promise: nil
            )
            upstream.removeHandler(
                try upstream.handler(type: ByteToMessageHandler<HTTPResponseDecoder>.self),
                promise: nil
            )
        } catch {
            // Closing the upstream end runs the tunnel's close callback.
            clientChannel.close(promise: nil)
            upstreamChannel.close(promise: nil)
            return
        }
        clientChannel.read()
        upstreamChannel.read()
    }
}
