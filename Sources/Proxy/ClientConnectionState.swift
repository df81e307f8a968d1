/// The life of one client connection, one exchange (a request and its response) at a time.
///
/// ```
///            head                upstream ready           response end
///   idle ───────────▶ connecting ──────────────▶ forwarding ─────────────▶ idle (keep-alive)
///    ▲                  ▲     │   retry before any       │ │                  or closed
///    │                  └─────┼──── response byte ───────┘ │ 101
///    │                        │ local answer               ▼
///    │   request end          ▼ (404, 502, ...)        upgrading ──▶ byte tunnel
///    └──────────── awaitingRequestEnd
/// ```
///
/// Parts of a pipelined next request wait in the handler's queue while an exchange is under
/// way (``canConsume(_:)`` says no); the handler stops reading once ``maxQueuedParts`` wait.
struct ClientConnectionState {
    enum Phase: Equatable {
        /// Waiting for the head of the next request.
        case idle
        /// A head arrived; waiting for a pooled or new upstream connection.
        case connecting
        /// An upstream connection is attached; request and response stream through it.
        case forwarding
        /// The response is complete but the request is not: the rest of its body is dropped.
        case awaitingRequestEnd
        /// The upstream switched protocols; the connection becomes a byte tunnel.
        case upgrading
        /// Closing or closed.
        case closed
    }

    /// What the end of a response means for the connection.
    enum ResponseEnd: Equatable {
        /// The exchange is over; the connection waits for the next request.
        case keepAlive
        /// The exchange is over; the connection closes once the response is flushed.
        case close
        /// The request is still arriving; its remaining body is read and dropped.
        case awaitRequestEnd
    }

    private(set) var phase = Phase.idle
    /// The current request was read up to its end.
    private(set) var requestComplete = false
    /// The current response head went to the client (it can no longer be replaced by a local answer).
    private(set) var responseStarted = false
    /// Whether the connection stays open after the current exchange.
    private(set) var keepAlive = true

    /// Whether an inbound part can be handled now, or must wait in the queue.
    func canConsume(_ part: RequestReader.Event) -> Bool {
        switch phase {
        case .idle:
            if case .head = part { return true }
            return false
        case .forwarding, .awaitingRequestEnd:
            return !requestComplete
        case .connecting, .upgrading, .closed:
            return false
        }
    }

    /// The most inbound parts held while they cannot be handled (a request waiting for its
    /// upstream, or pipelined requests). Reading on up to this bound, instead of stopping at
    /// once, spares the event loop a pair of `epoll_ctl` calls per request.
    static let maxQueuedParts = 8

    /// Whether the client connection should read more, given whether the upstream can take more
    /// and how many parts wait in the queue.
    func wantsClientRead(upstreamWritable: Bool, queuedParts: Int) -> Bool {
        switch phase {
        case .idle, .awaitingRequestEnd:
            return true
        case .forwarding where !requestComplete:
            return upstreamWritable
        case .forwarding, .connecting:
            return queuedParts < Self.maxQueuedParts
        case .upgrading, .closed:
            return false
        }
    }

    /// Whether the upstream connection should read more (the caller checks client writability).
    var wantsUpstreamRead: Bool {
        phase == .forwarding
    }

    mutating func requestHeadReceived(keepAlive: Bool) {
        precondition(phase == .idle, "a request head must arrive on an idle connection, not \(phase)")
        phase = .connecting
        requestComplete = false
        responseStarted = false
        self.keepAlive = keepAlive
    }

    mutating func upstreamAttached() {
        precondition(phase == .connecting, "an upstream attaches while connecting, not \(phase)")
        phase = .forwarding
    }

    /// The upstream connection broke before any response byte; the request is sent again.
    mutating func retryingUpstream() {
        precondition(phase == .forwarding && !responseStarted, "only an unanswered request is retried")
        phase = .connecting
    }

    /// Records the end of the request; returns true when that also ends the exchange.
    mutating func requestEnded() -> Bool {
        requestComplete = true
        guard phase == .awaitingRequestEnd else { return false }
        phase = .idle
        return true
    }

    mutating func responseStarted(keepAlive: Bool) {
        precondition(!responseStarted, "one response per request")
        responseStarted = true
        self.keepAlive = keepAlive
    }

    mutating func responseEnded() -> ResponseEnd {
        if !keepAlive {
            phase = .closed
            return .close
        }
        if requestComplete {
            phase = .idle
            return .keepAlive
        }
        phase = .awaitingRequestEnd
        return .awaitRequestEnd
    }

    mutating func upgradeAccepted() {
        precondition(phase == .forwarding, "only a forwarded request is upgraded")
        responseStarted = true
        phase = .upgrading
    }

    /// The connection closes after the current exchange (shutdown, or an upgrade
    /// the upstream declined).
    mutating func stopKeepingAlive() {
        keepAlive = false
    }

    mutating func closed() {
        phase = .closed
    }
}
