import NIOCore

/// Turns the bytes of a client connection into requests: heads parsed in place
/// (``RequestHead``), bodies handed on as the slices they arrived in (``MessageBody``), with
/// their framing, so the upstream receives them as sent.
///
/// Pull-based: ``feed(_:)`` the bytes read, then call ``next()`` until it returns nil.
///
/// ```
///   head ──head──▶ body(length | chunked) ──▶ ending ──▶ head ...
///     │  └─ no body ─────────────────────────▲
///     └─ upgrade request ─▶ ... ─▶ stopped (later bytes belong to the tunnel)
/// ```
struct RequestReader {
    enum Event {
        case head(RequestHead)
        /// Body bytes with their framing (chunked bodies stay chunked).
        case body(ByteBuffer)
        case end

        var isHead: Bool {
            if case .head = self { return true }
            return false
        }
    }

    /// Why the bytes are not a request the proxy forwards.
    enum Failure: Error, Equatable {
        /// The head is larger than the limit (431).
        case headTooLarge
        /// The head is malformed or its framing ambiguous (400).
        case malformed
        /// The chunked framing of a body is malformed: the request cannot be completed.
        case malformedBody
    }

    private enum State {
        case head
        case body(MessageBody)
        /// The request is complete; ``Event/end`` is next.
        case ending
        /// After an upgrade request: nothing more is parsed.
        case stopped
        case failed
    }

    private var state = State.head
    private var buffer = HeadBuffer()
    private var fieldsBoxes = ReusableFieldsBox()
    private var stopsAfterRequest = false
    let maxHeadBytes: Int

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    mutating func feed(_ bytes: ByteBuffer) {
        buffer.append(bytes)
    }

    /// The bytes read but not parsed: after an upgrade request, the tunnel's first.
    mutating func takeBufferedBytes() -> ByteBuffer? {
        buffer.takeAll()
    }

    /// Whether nothing more will be parsed: an upgrade request was read (or a broken one).
    var isStopped: Bool {
        switch state {
        case .stopped, .failed: true
        case .head, .body, .ending: false
        }
    }

    /// The next event from the bytes fed so far, or nil when more bytes are needed.
    mutating func next() throws(Failure) -> Event? {
        switch state {
        case .stopped, .failed:
            return nil
        case .ending:
            state = stopsAfterRequest ? .stopped : .head
            return .end
        case .head:
            do {
                return try nextHead()
            } catch {
                state = .failed
                throw error
            }
        case .body(var body):
            let taken: (bytes: ByteBuffer?, ended: Bool)
            do {
                taken = try buffer.takeBody(&body)
            } catch {
                state = .failed
                throw .malformedBody
            }
            state = taken.ended ? .ending : .body(body)
            guard let slice = taken.bytes else { return taken.ended ? try next() : nil }
            return .body(slice)
        }
    }

    private mutating func nextHead() throws(Failure) -> Event? {
        let bytes: ByteBuffer?
        do {
            bytes = try buffer.takeHead(maxBytes: maxHeadBytes)
        } catch {
            throw .headTooLarge
        }
        guard let bytes else { return nil }
        let head: RequestHead
        do {
            head = try RequestHead(bytes, boxes: &fieldsBoxes)
        } catch {
            throw .malformed
        }
        stopsAfterRequest = head.isUpgrade
        if head.fields.isChunked {
            state = .body(MessageBody(.chunked(ChunkedScanner())))
        } else if let length = head.fields.contentLength, length > 0 {
            state = .body(MessageBody(.length(remaining: length)))
        } else {
            state = .ending
        }
        return .head(head)
    }
}
