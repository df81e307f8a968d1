import NIOCore

/// Turns the bytes of an upstream connection into responses, one per request sent, without
/// decoding what the proxy only forwards: the head is parsed in place (``ResponseHead``), body
/// bytes are passed on as the slices they arrived in, and only a chunked body is scanned for
/// its end (``ChunkedScanner``).
///
/// Pull-based, like NIO's decoders: ``feed(_:)`` the bytes read, then call ``next()`` until
/// it returns nil.
///
/// ```
///   idle ──request sent──▶ head ──1xx──▶ head
///                            │ final head         ┌─ bodiless ─┐
///                            ▼                    ▼            │
///                          body(length | chunked | untilClose) ──▶ ending ──▶ idle
///                            │ 101
///                            ▼
///                          switched (the rest of the bytes belong to a tunnel)
/// ```
struct ResponseReader {
    enum Event {
        /// An informational head (`100 Continue`...), not `101`; the final head follows.
        case informational(ResponseHead)
        /// The final head, with how its body is delimited, or a `101 Switching Protocols`.
        case head(ResponseHead, ResponseFraming)
        /// Body bytes for the client: as the upstream framed them, or, for an HTTP/1.0
        /// client of a chunked body, only the chunk data.
        case body(ByteBuffer)
        /// The response is complete.
        case end
    }

    /// The upstream broke the protocol; the connection must close.
    struct ProtocolError: Error {
        let reason: String
    }

    private enum State {
        /// No request is waiting for its response: any byte is a protocol error.
        case idle
        case head
        case body(MessageBody)
        /// The response is complete; ``Event/end`` is next.
        case ending
        /// After a 101: the bytes belong to the tunnel.
        case switched
    }

    private var state = State.idle
    private var buffer = HeadBuffer()
    private var fieldsBoxes = ReusableFieldsBox()
    private var requestIsHEAD = false
    private var dechunks = false
    let maxHeadBytes: Int

    init(maxHeadBytes: Int = 64 * 1024) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// A request went out: the next bytes are its response. `dechunksBody`: the client
    /// speaks HTTP/1.0, so a chunked body reaches it as plain data.
    mutating func expectResponse(toHEAD: Bool, dechunksBody: Bool) {
        state = .head
        requestIsHEAD = toHEAD
        dechunks = dechunksBody
    }

    mutating func feed(_ bytes: ByteBuffer) {
        buffer.append(bytes)
    }

    /// The bytes read past a `101` response, for the tunnel.
    mutating func takeBufferedBytes() -> ByteBuffer? {
        buffer.takeAll()
    }

    /// Whether bytes were read that belong to no response (a connection holding them must
    /// not carry another request).
    var hasUnreadBytes: Bool {
        !buffer.isEmpty
    }

    /// The next event from the bytes fed so far, or nil when more bytes are needed.
    mutating func next() throws -> Event? {
        switch state {
        case .idle:
            if !buffer.isEmpty {
                throw ProtocolError(reason: "bytes from the upstream while no request was waiting")
            }
            return nil
        case .switched:
            return nil
        case .ending:
            state = .idle
            return .end
        case .head:
            return try nextHead()
        case .body(let body):
            return try nextBody(body)
        }
    }

    /// The upstream closed its side: ends a body delimited by closing.
    /// - Throws: when a response was cut short.
    mutating func inputClosed() throws -> Event? {
        switch state {
        case .body(let body) where body.endsWithConnection:
            state = .idle
            return .end
        case .head, .body, .ending:
            throw ProtocolError(reason: "the upstream closed the connection mid-response")
        case .idle, .switched:
            return nil
        }
    }

    private mutating func nextHead() throws -> Event? {
        let bytes: ByteBuffer?
        do {
            bytes = try buffer.takeHead(maxBytes: maxHeadBytes)
        } catch {
            throw ProtocolError(reason: "response head larger than \(maxHeadBytes) bytes")
        }
        guard let bytes else { return nil }
        let head = try ResponseHead(bytes, boxes: &fieldsBoxes)
        switch head.status {
        case 101:
            state = .switched
            return .head(head, .bodiless)
        case 100..<200:
            return .informational(head)
        default:
            let framing = framing(of: head)
            switch framing {
            case .bodiless:
                state = .ending
            case .length:
                let length = head.fields.contentLength ?? 0
                state = length == 0 ? .ending : .body(MessageBody(.length(remaining: length)))
            case .chunked:
                state = .body(MessageBody(.chunked(ChunkedScanner()), dechunks: dechunks))
            case .untilClose:
                state = .body(MessageBody(.untilClose))
            }
            return .head(head, framing)
        }
    }

    private func framing(of head: ResponseHead) -> ResponseFraming {
        if requestIsHEAD || head.status == 204 || head.status == 304 {
            return .bodiless
        }
        if head.fields.found.contains(.transferEncoding) {
            // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; not ending with
            // chunked, the body ends with the connection.
            return head.fields.isChunked ? .chunked : .untilClose
        }
        return head.fields.contentLength != nil ? .length : .untilClose
    }

    private mutating func nextBody(_ body: MessageBody) throws -> Event? {
        var body = body
        let (slice, ended) = try buffer.takeBody(&body)
        state = ended ? .ending : .body(body)
        guard let slice else { return ended ? try next() : nil }
        return .body(slice)
    }
}
