import NIOCore

/// Upgrades (WebSocket and others): once the upstream answers `101 Switching Protocols`, both
/// connections drop their HTTP handlers and become the two ends of a byte tunnel.
extension ClientHandler {
    /// Passes the `101` head on; the switch to a tunnel follows once the current read is
    /// handled, and the bytes the upstream sent after the head go first through it.
    func acceptUpgrade(_ head: ResponseHead) {
        guard let context else { return }
        exchange.status = head.status
        var keepAlive = true
        var out = context.channel.allocator.buffer(capacity: 0)
        HeaderRewriting.writeClientResponseHead(
            head, framing: .bodiless, clientVersion: exchange.clientVersion, keepAlive: &keepAlive, into: &out
        )
        state.upgradeAccepted()
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        loop.eventLoop.assumeIsolated().execute {
            self.switchToTunnel()
        }
    }

    /// A `101` was accepted and the switch to a tunnel is pending.
    var isSwitchingToTunnel: Bool { state.phase == .upgrading }

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
        let tunnel = TunnelHandler.makePair(
            lingerTimeout: loop.settings.idleTimeout, idleTimeout: loop.settings.tunnelIdleTimeout
        ) { pool.inFlight -= 1 }
        let clientChannel = context.channel
        let client = clientChannel.pipeline.syncOperations
        let upstream = upstreamChannel.pipeline.syncOperations
        do {
            // HTTP connections treat an end of input as the peer leaving; a tunnel passes it on
            // (the upstream's allows it since the upgrade request went out).
            try clientChannel.syncOptions?.setOption(.allowRemoteHalfClosure, value: true)
            try upstream.addHandler(tunnel.upstream)
        } catch {
            pool.inFlight -= 1
            clientChannel.close(promise: nil)
            upstreamChannel.close(promise: nil)
            return
        }
        do {
            try client.addHandler(tunnel.client)
            // Bytes either side sent after the switch, already read, go first through the tunnel.
            if let early = connection.takeBytesAfterSwitch() {
                clientChannel.writeAndFlush(early, promise: nil)
            }
            if let early = reader.takeBufferedBytes() {
                upstreamChannel.writeAndFlush(early, promise: nil)
            }
            client.removeHandler(self, promise: nil)
            upstream.removeHandler(connection, promise: nil)
            // After what it sent: the app shut its output before the tunnel existed.
            if connection.inputClosedBeforeSwitch {
                tunnel.upstream.inputClosedBeforeSwitch()
            }
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
