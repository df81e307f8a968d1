import NIOCore
import NIOHTTP1

/// The upstream side of an exchange: picking an instance, connecting, and the callbacks of
/// ``UpstreamHandler``.
extension ClientHandler {
    /// Takes a kept-alive connection to the chosen instance, or opens one.
    func acquireUpstream() {
        guard let route else { return }
        var pool = route.pools[poolIndex]
        if pool.isRetired {
            pool = loop.tracked(pool)
        }
        self.pool = pool
        pool.inFlight += 1
        exchange.upstream = pool.upstream
        if let connection = pool.takeIdleConnection() {
            attach(connection)
            return
        }
        let exchangeID = exchange.id
        pool.connect { result in
            self.connectCompleted(result, pool: pool, exchangeID: exchangeID)
        }
    }

    private func connectCompleted(
        _ result: Result<UpstreamHandler, any Error>,
        pool: UpstreamPool,
        exchangeID: Int
    ) {
        guard exchangeID == exchange.id, state.phase == .connecting, self.pool === pool else {
            // The client left or the exchange timed out; a fresh connection is still useful.
            if case .success(let connection) = result {
                pool.release(connection)
            }
            return
        }
        switch result {
        case .success(let connection):
            attach(connection)
        case .failure(let error):
            releasePool()
            exchange.failedAttempts += 1
            if let route, exchange.failedAttempts < route.pools.count {
                // Nothing was sent yet: the next instance gets the request.
                poolIndex = route.retryPoolIndex(after: poolIndex)
                acquireUpstream()
            } else if case ChannelError.connectTimeout = error {
                answerLocally(.gatewayTimeout)
            } else {
                answerLocally(.badGateway)
            }
        }
    }

    private func attach(_ connection: UpstreamHandler) {
        guard let request else { return }
        upstream = connection
        connection.owner = self
        state.upstreamAttached()
        if exchange.isUpgrade {
            // An app may answer 101, send a few bytes and shut its output at once: that end of
            // input must reach the tunnel as a half-close, not close the connection (and drop
            // those bytes) before the tunnel exists.
            connection.allowHalfClosure()
        }
        connection.sendHead(
            request, toHEAD: exchange.method == .HEAD, dechunksResponse: exchange.clientVersion.minor == 0
        )
        drainQueue()
        connection.flush()
        resumeClientReading()
    }

    /// Lets go of the upstream connection: back to its pool when it finished a clean exchange,
    /// closed otherwise (never pooled mid-response).
    func detachUpstream(reusable: Bool) {
        if let connection = upstream {
            upstream = nil
            connection.owner = nil
            connection.hasCarriedRequests = true
            // Bytes past the end of the response would be read as the next one: never pooled.
            if reusable, !connection.hasUnreadBytes, let pool {
                pool.release(connection)
            } else {
                connection.close()
            }
        }
        releasePool()
    }

    private func releasePool() {
        pool?.inFlight -= 1
        pool = nil
    }

    // MARK: Callbacks from UpstreamHandler

    /// Whether the upstream connection should read: only for the exchange under way, and only
    /// while the client can take more.
    var wantsUpstreamRead: Bool {
        state.wantsUpstreamRead && isWritable
    }

    func upstreamRead(_ event: ResponseReader.Event) {
        guard let context else { return }
        switch event {
        case .head(let head, _) where head.status == 101:
            guard exchange.isUpgrade, state.requestComplete else {
                upstream?.fail()  // an unasked-for switch: answered 502 by `upstreamClosed`
                return
            }
            acceptUpgrade(head)
        case .informational(let head):
            // `100 Continue` and friends; HTTP/1.0 clients do not know them.
            if exchange.clientVersion.minor >= 1 {
                var keepAlive = true
                var out = responseHeads.take()
                HeaderRewriting.writeClientResponseHead(
                    head, framing: .bodiless, clientVersion: exchange.clientVersion, keepAlive: &keepAlive, into: &out
                )
                context.write(wrapOutboundOut(out), promise: nil)
                responseHeads.giveBack(out)
            }
        case .head(let head, let framing):
            exchange.status = head.status
            // An early answer (request still arriving) closes the client connection afterwards.
            var keepAlive = state.keepAlive && state.requestComplete
            var out = responseHeads.take()
            exchange.chunksResponse = HeaderRewriting.writeClientResponseHead(
                head, framing: framing, clientVersion: exchange.clientVersion, keepAlive: &keepAlive, into: &out
            )
            exchange.upstreamKeepAlive = head.keepsConnection && framing != .untilClose
            state.responseStarted(keepAlive: keepAlive)
            // Held until the body's first bytes: a small body goes out in the same buffer.
            pendingHead = out
        case .body(var body):
            exchange.responseBytes += body.readableBytes
            if !exchange.chunksResponse, body.readableBytes <= Self.maxBodyBytesWithHead,
                var head = pendingHead.take()
            {
                head.writeBuffer(&body)
                context.write(wrapOutboundOut(head), promise: nil)
                responseHeads.giveBack(head)
                return
            }
            writePendingHead()
            if exchange.chunksResponse {
                var size = context.channel.allocator.buffer(capacity: 18)
                size.writeString(String(body.readableBytes, radix: 16))
                size.writeStaticString("\r\n")
                context.write(wrapOutboundOut(size), promise: nil)
                context.write(wrapOutboundOut(body), promise: nil)
                context.write(wrapOutboundOut(context.channel.allocator.buffer(staticString: "\r\n")), promise: nil)
            } else {
                context.write(wrapOutboundOut(body), promise: nil)
            }
        case .end:
            writePendingHead()
            detachUpstream(reusable: exchange.upstreamKeepAlive && state.requestComplete)
            endResponse()
        }
    }

    /// Writes the response head held for the body's first bytes, if any.
    private func writePendingHead() {
        guard let head = pendingHead.take(), let context else { return }
        context.write(wrapOutboundOut(head), promise: nil)
        responseHeads.giveBack(head)
    }

    func upstreamReadComplete() {
        writePendingHead()
        context?.flush()
        noteProgress()
    }

    func upstreamWritabilityChanged() {
        resumeClientReading()
    }

    /// The upstream connection closed under the exchange.
    func upstreamClosed(_ connection: UpstreamHandler) {
        guard connection === upstream else { return }
        switch state.phase {
        case .forwarding where !state.responseStarted:
            let repeatable = !connection.hasResponseBytes && state.requestComplete && exchange.isReplayable
            // A kept-alive connection the upstream closed as the request went out: once more,
            // to the next instance if there is one.
            let closedWhileKept = connection.hasCarriedRequests && exchange.failedAttempts == 0
            // An instance that went under the request (it crashed, was killed): the next one,
            // as nginx's `proxy_next_upstream error` does for requests that can be repeated.
            let anotherInstance = exchange.failedAttempts + 1 < (route?.pools.count ?? 0)
            if repeatable && (closedWhileKept || anotherInstance) {
                detachUpstream(reusable: false)
                exchange.failedAttempts += 1
                state.retryingUpstream()
                if let route { poolIndex = route.retryPoolIndex(after: poolIndex) }
                acquireUpstream()
            } else {
                answerLocally(.badGateway)
            }
        default:
            // The response was cut short: the client must see the connection end too.
            writePendingHead()
            detachUpstream(reusable: false)
            close()
        }
    }
}
