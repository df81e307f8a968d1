import Logging
import NIOCore
import NIOHTTP1
import NIOTLS

/// The last handler of a client connection's pipeline: routes each request, forwards it over a
/// pooled upstream connection on the same event loop, and streams the response back.
///
/// Backpressure: the client is read only while the upstream is writable (and only for the
/// request in flight), the upstream only while the client is writable. The phases live in
/// ``ClientConnectionState``; this class carries them out.
final class ClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let loop: LoopContext
    var context: ChannelHandlerContext?
    var state = ClientConnectionState()
    /// Inbound parts that cannot be handled yet: the body of a request waiting for its upstream,
    /// or a pipelined next request.
    var queue = CircularBuffer<RequestReader.Event>(initialCapacity: 4)
    /// Parses the client's bytes into requests.
    var reader: RequestReader
    private var isDrainingQueue = false
    /// A head the reader refused after the parts in the queue: answered when their turn is over.
    private var refusal: RequestReader.Failure?
    /// A read the channel asked for but the state held back.
    private var readPending = false
    /// The proxy shuts down: close after the current exchange.
    private var isClosing = false
    /// The last response is out and the output shut: what the client still sends is dropped
    /// until it closes, it pauses ``lingerTimeout``, or ``lingerTime`` passes.
    private var isLingering = false
    private var lingerEnds = NIODeadline.distantFuture
    /// The answer refused the request's head: its rest may still be arriving.
    private var answeredRefusal = false
    /// How long a lingering connection waits for more input (nginx's `lingering_timeout`).
    static let lingerTimeout = TimeAmount.seconds(5)
    /// The longest a connection lingers in all (nginx's `lingering_time`).
    static let lingerTime = TimeAmount.seconds(30)
    var peer = ClientPeer(address: "-", isTrustedProxy: false)
    /// The channel's writability, as its last change said (asking the channel costs more).
    private(set) var isWritable = true

    /// The route the last request's `Host` led to.
    private var routeCache = RouteCache()

    // The exchange under way.
    var exchange = ExchangeRecord()
    var route: LoopRoute?
    var poolIndex = 0
    var pool: UpstreamPool?
    var upstream: UpstreamHandler?
    /// The request head as sent upstream (kept to send it again on a retry).
    var request: ByteBuffer?
    /// Memory for the heads this connection writes, upstream and to the client.
    private var requestHeads = ReusableBuffer()
    var responseHeads = ReusableBuffer()
    /// A response head not written yet: the body's first bytes may join it (see
    /// ``maxBodyBytesWithHead``).
    var pendingHead: ByteBuffer?
    /// Bodies up to this size are copied into the response head's buffer, so that head and
    /// body go through the pipeline as one write.
    static let maxBodyBytesWithHead = 2048

    /// Request body bytes read since the deadline last moved. A body moves it only once this
    /// many bytes came (or it ended), so that a client cannot hold a connection, an upstream
    /// connection and an app worker forever by sending a byte now and then: below about
    /// 270 bytes a second (16 KiB a minute), the request ends with 408.
    static let minBodyBytesPerTimeout = 16 * 1024
    private var bodyBytesSinceProgress = 0

    // One lazily re-armed timer: moving the deadline later costs nothing.
    private var deadline = NIODeadline.distantFuture
    private var timeoutTask: Scheduled<Void>?
    private var timeoutFiresAt = NIODeadline.distantFuture

    /// Whether the client came over the HTTPS listener.
    let isTLS: Bool

    init(loop: LoopContext, isTLS: Bool = false) {
        self.loop = loop
        self.isTLS = isTLS
        self.reader = RequestReader(maxHeadBytes: loop.settings.maxHeaderBytes)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
        let remote = context.channel.remoteAddress
        peer = ClientPeer(
            address: remote?.ipAddress ?? "-",
            isTrustedProxy: remote.map { address in loop.settings.trustedProxies.contains { $0.contains(address) } }
                ?? false,
            isTLS: isTLS,
            port: context.channel.localAddress?.port
        )
        setDeadline(
            .now() + (isTLS ? min(Self.handshakeTimeout, loop.settings.idleTimeout) : loop.settings.idleTimeout))
    }

    /// How long a TLS client has to complete its handshake (then the idle timeout runs).
    static let handshakeTimeout = TimeAmount.seconds(10)

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state.phase != .closed else {
            if isLingering { setDeadline(min(.now() + lingerTimeout, lingerEnds)) }
            return
        }
        reader.feed(unwrapInboundIn(data))
        do {
            while let part = try reader.next() {
                if queue.isEmpty && state.canConsume(part) {
                    consume(part)
                } else {
                    queue.append(part)
                }
            }
        } catch {
            refuse(error)
        }
    }

    /// Answers a request the reader refused with 400 (431 for a head too large), then closes:
    /// the stream cannot be resynced. The requests before it are answered first.
    private func refuse(_ failure: RequestReader.Failure) {
        if failure == .malformedBody {
            if let head = queue.lastIndex(where: \.isHead) {
                // A pipelined request not started yet: it goes, with its body so far.
                queue.removeSubrange(head..<queue.endIndex)
            } else {
                // The body of the exchange under way: answered here unless its answer began.
                queue.removeAll()
                if state.responseStarted || !(state.phase == .connecting || state.phase == .forwarding) {
                    close()
                } else {
                    answerLocally(.badRequest)
                }
                return
            }
        }
        refusal = failure
        answerRefusal()
    }

    /// Answers the refused head once every exchange before it is over.
    private func answerRefusal() {
        guard let failure = refusal, state.phase == .idle, queue.isEmpty else { return }
        refusal = nil
        answeredRefusal = true
        exchange.begin(method: .GET, uri: "-", version: .http1_1)
        state.requestHeadReceived(keepAlive: false)
        answerLocally(failure == .headTooLarge ? .headerFieldsTooLarge : .badRequest)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let upstream, upstream.hasUnflushedWrites {
            upstream.flush()
            if state.requestComplete || bodyBytesSinceProgress >= Self.minBodyBytesPerTimeout {
                bodyBytesSinceProgress = 0
                noteProgress()
            }
        }
    }

    func read(context: ChannelHandlerContext) {
        // Over TLS a closing connection reads the client's close_notify (what else comes is
        // dropped), so that NIOSSL need not wait its shutdown timeout for it.
        if isLingering || (isTLS && state.phase == .closed) {
            context.read()
            return
        }
        // After an upgrade request, bytes wait in the socket until the tunnel (or the close).
        if !reader.isStopped
            && state.wantsClientRead(upstreamWritable: upstream?.isWritable ?? false, queuedParts: queue.count)
        {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        if isWritable {
            upstream?.resumeReading()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ProxyDrainEvent:
            isClosing = true
            state.stopKeepingAlive()
            if state.phase == .idle && queue.isEmpty {
                close()
            }
        case TLSUserEvent.handshakeCompleted:
            setDeadline(.now() + loop.settings.idleTimeout)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The end of the connection follows, and counts an abandoned request (499).
        guard !isRaggedTLSEnd(error) else { return }
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if state.phase != .idle && state.phase != .closed && !state.responseStarted {
            exchange.status = 499
            logExchange()
        }
        state.closed()
        detachUpstream(reusable: false)
        cancelTimer()
        queue.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Requests

    /// Handles the parts of a pipelined request once the previous exchange is over.
    func drainQueue() {
        guard !isDrainingQueue else { return }
        isDrainingQueue = true
        defer { isDrainingQueue = false }
        while let part = queue.first, state.canConsume(part) {
            queue.removeFirst()
            consume(part)
        }
        // Body parts of a pipelined request may have gone out here, outside any read of the
        // client (whose read-complete flushes): flush them.
        upstream?.flush()
        answerRefusal()
    }

    private func consume(_ part: RequestReader.Event) {
        switch part {
        case .head(let head):
            startExchange(head)
        case .body(let body):
            // In `awaitingRequestEnd` the body of an answered request is dropped.
            if state.phase == .forwarding {
                bodyBytesSinceProgress += body.readableBytes
                upstream?.write(body)
            }
        case .end:
            if state.requestEnded() {
                startIdle()
            }
        }
    }

    private func startExchange(_ head: RequestHead) {
        exchange.begin(
            method: head.method, uri: loop.settings.accessLog ? head.targetString : "", version: head.version)
        exchange.hasBody = head.hasBody
        exchange.isUpgrade = head.isUpgrade
        bodyBytesSinceProgress = 0
        // Nothing after an upgrade request is parsed, whether it is switched, declined or
        // answered here: the connection closes after this exchange unless it becomes a tunnel.
        state.requestHeadReceived(keepAlive: head.keepAlive && !head.isUpgrade && !isClosing)
        setDeadline(exchange.startedAt + loop.settings.responseHeaderTimeout)
        guard let host = head.fields.host, head.method != .CONNECT else {
            loop.unrouted.count(statusCode: 400)
            answerLocally(.badRequest)
            return
        }
        let route = head.bytes.withUnsafeReadableBytes { bytes in
            routeCache.route(forHost: UnsafeRawBufferPointer(rebasing: bytes[host]), in: loop)
        }
        guard let route else {
            loop.unrouted.count(statusCode: 404)
            answerLocally(.notFound)
            return
        }
        self.route = route
        if let redirect = loop.httpsRedirect, !isTLS, !peer.isTrustedProxy {
            let hostKey = head.bytes.withUnsafeReadableBytes {
                HostName.key(UnsafeRawBufferPointer(rebasing: $0[host]))
            }
            if redirect.certificates.covers(host: hostKey) {
                answerLocally(.redirectToHTTPS(location: head.httpsLocation(host: hostKey, port: redirect.port)))
                return
            }
        }
        guard !route.inMaintenance else {
            answerLocally(.maintenance)
            return
        }
        guard !route.pools.isEmpty else {
            answerLocally(.serviceUnavailable)
            return
        }
        var forwarded = requestHeads.take()
        let addedID = HeaderRewriting.writeUpstreamRequestHead(
            head, peer: peer, requestID: { loop.requestIDs.next() }, into: &forwarded
        )
        if loop.settings.accessLog {
            exchange.requestID = addedID?.description ?? head.requestID
        }
        request = forwarded
        poolIndex = route.nextPoolIndex()
        acquireUpstream()
    }

    /// Goes back to waiting for the next request, handling it at once if it is queued.
    func startIdle() {
        route = nil
        if let request {
            requestHeads.giveBack(request)
            self.request = nil
        }
        setDeadline(.now() + loop.settings.idleTimeout)
        drainQueue()
        resumeClientReading()
    }

    /// Reads from the client again if a read was held back and the state now allows it.
    func resumeClientReading() {
        guard readPending, let context, !reader.isStopped,
            state.wantsClientRead(upstreamWritable: upstream?.isWritable ?? false, queuedParts: queue.count)
        else { return }
        readPending = false
        context.read()
    }

    // MARK: Responses

    /// Answers the current request from the proxy itself (404, 502, 503, 504 ...).
    func answerLocally(_ response: LocalResponse) {
        guard let context else { return }
        detachUpstream(reusable: false)
        let keepAlive = state.keepAlive && (state.requestComplete || !exchange.hasBody)
        state.responseStarted(keepAlive: keepAlive)
        exchange.status = Int(response.status.code)
        if case .maintenance = response { exchange.isMaintenancePage = true }
        let isHEAD = exchange.method == .HEAD
        exchange.responseBytes = isHEAD ? 0 : response.text.utf8.count
        let bytes = response.bytes(
            keepAlive: keepAlive, clientVersion: exchange.clientVersion, isHEAD: isHEAD,
            allocator: context.channel.allocator
        )
        context.write(wrapOutboundOut(bytes), promise: nil)
        endResponse()
    }

    /// Writes the end of the response and moves the connection on: to the next request, to
    /// dropping the rest of this request's body, or to closing.
    func endResponse() {
        guard let context else { return }
        recordExchange()
        if exchange.chunksResponse {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(staticString: "0\r\n\r\n")), promise: nil)
        }
        switch state.responseEnded() {
        case .keepAlive:
            context.flush()
            startIdle()
        case .awaitRequestEnd:
            context.flush()
            drainQueue()
            resumeClientReading()
        case .close:
            // A client that stops reading cannot hold the connection open past the idle timeout.
            setDeadline(.now() + loop.settings.idleTimeout)
            // A refused head, or a body not read to its end: the client may still be sending.
            let lingers = answeredRefusal || (exchange.hasBody && !state.requestComplete)
            let flushed = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: flushed)
            flushed.futureResult.assumeIsolated().whenComplete { result in
                if lingers, case .success = result {
                    self.linger(context)
                } else {
                    context.close(promise: nil)
                }
            }
        }
    }

    /// Closes a connection whose request may still be arriving (a refused head, a body the
    /// answer did not wait for) the way nginx does: shut the output, then read and drop what
    /// the client still sends until it closes, pauses for ``lingerTimeout`` or has lingered
    /// ``lingerTime``. Closing at once with unread input sends a reset, which fails a client
    /// still sending and may destroy the answer before the client has read it.
    private func linger(_ context: ChannelHandlerContext) {
        isLingering = true
        lingerEnds = .now() + Self.lingerTime
        setDeadline(.now() + lingerTimeout)
        context.close(mode: .output, promise: nil)
        context.read()
    }

    /// The wait for a lingering client's next bytes: ``lingerTimeout``, or the idle timeout
    /// when it is shorter.
    private var lingerTimeout: TimeAmount { min(Self.lingerTimeout, loop.settings.idleTimeout) }

    /// Counts the answer and writes the access log line.
    func recordExchange() {
        if let counters = route?.counters {
            if exchange.isMaintenancePage {
                counters.counts.maintenance += 1
            } else {
                counters.counts.count(statusCode: exchange.status)
            }
            counters.latency.record(seconds: Double((NIODeadline.now() - exchange.startedAt).nanoseconds) / 1e9)
        }
        logExchange()
    }

    private func logExchange() {
        guard loop.settings.accessLog else { return }
        loop.logger.logExchange(
            exchange,
            route: route?.name,
            requestID: exchange.requestID
        )
    }

    func close() {
        state.closed()
        context?.close(promise: nil)
    }

    // MARK: Timeouts

    /// Keeps the exchange alive: data moved in one direction or the other.
    func noteProgress() {
        let timeout = state.responseStarted ? loop.settings.idleTimeout : loop.settings.responseHeaderTimeout
        setDeadline(.now() + timeout)
    }

    func setDeadline(_ newDeadline: NIODeadline) {
        deadline = newDeadline
        if timeoutTask == nil || newDeadline < timeoutFiresAt {
            scheduleTimeout(at: newDeadline)
        }
    }

    private func scheduleTimeout(at fireAt: NIODeadline) {
        timeoutTask?.cancel()
        timeoutFiresAt = fireAt
        timeoutTask = loop.eventLoop.assumeIsolated().scheduleTask(deadline: fireAt) {
            self.timeoutFired()
        }
    }

    func cancelTimer() {
        timeoutTask?.cancel()
        timeoutTask = nil
    }

    private func timeoutFired() {
        timeoutTask = nil
        if NIODeadline.now() < deadline {
            scheduleTimeout(at: deadline)
            return
        }
        switch state.phase {
        case .closed:
            // The last response is still waiting for a client that stopped reading, or a
            // lingering client paused or lingered long enough.
            context?.close(promise: nil)
        case .connecting:
            answerLocally(.gatewayTimeout)
        case .forwarding where !state.responseStarted:
            // A body still arriving while the upstream takes more came too slowly.
            let slowBody = !state.requestComplete && (upstream?.isWritable ?? false)
            answerLocally(slowBody ? .requestTimeout : .gatewayTimeout)
        case .idle, .awaitingRequestEnd, .forwarding:
            close()
        case .upgrading:
            break
        }
    }
}
