import NIOCore
import NIOHTTP1

/// The upstream side of an exchange: picking an instance, connecting, and the callbacks of
/// ``UpstreamHandler``.
extension ClientHandler {
    /// Takes a kept-alive connection to the chosen instance, or opens one.
    func acquireUpstream() {
        guard let route else { return }
        let pool = route.pools[poolIndex]
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
                poolIndex = (poolIndex + 1) % route.pools.count
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
        connection.write(.head(request))
        if state.requestComplete {
            // A retry: the end of the request was consumed on the first attempt.
            connection.write(.end(nil))
        }
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
            if reusable, let pool {
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
        state.wantsUpstreamRead && (context?.channel.isWritable ?? false)
    }

    func upstreamRead(_ part: HTTPClientResponsePart) {
        guard let context else { return }
        switch part {
        case .head(var head) where head.status == .switchingProtocols:
            guard exchange.traits.isUpgrade, state.requestComplete else {
                upstream?.close()  // an unasked-for switch: answered 502 by `upstreamClosed`
                return
            }
            acceptUpgrade(head: &head)
        case .head(var head) where head.status.code < 200:
            // `100 Continue` and friends; HTTP/1.0 clients do not know them.
            if exchange.clientVersion.minor >= 1 {
                HeaderRewriting.prepareInformational(&head)
                context.write(wrapOutboundOut(.head(head)), promise: nil)
            }
        case .head(var head):
            exchange.status = Int(head.status.code)
            // HTTP/1.0 upstreams keep the connection only when they say so (`isKeepAlive`).
            let upstreamKeepAlive = head.isKeepAlive
            // An early answer (request still arriving) closes the client connection afterwards.
            var keepAlive = state.keepAlive && state.requestComplete
            let framing = HeaderRewriting.prepareResponse(
                &head,
                requestMethod: exchange.method,
                clientVersion: exchange.clientVersion,
                keepAlive: &keepAlive
            )
            exchange.upstreamKeepAlive = upstreamKeepAlive && framing != .untilClose
            state.responseStarted(keepAlive: keepAlive)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
        case .body(let body):
            exchange.responseBytes += body.readableBytes
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        case .end(let trailers):
            if state.phase == .upgrading {
                completeUpgrade()
                return
            }
            detachUpstream(reusable: exchange.upstreamKeepAlive && state.requestComplete)
            endResponse(trailers: trailers)
        }
    }

    func upstreamReadComplete() {
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
            if connection.hasCarriedRequests && state.requestComplete && exchange.isReplayable
                && exchange.failedAttempts == 0
            {
                // A kept-alive connection the upstream closed as the request went out: send it
                // once more on another connection.
                detachUpstream(reusable: false)
                exchange.failedAttempts += 1
                state.retryingUpstream()
                acquireUpstream()
            } else {
                answerLocally(.badGateway)
            }
        default:
            // The response was cut short: the client must see the connection end too.
            detachUpstream(reusable: false)
            close()
        }
    }
}
