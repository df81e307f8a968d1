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
    }

    /// Why the bytes are not a request the proxy forwards.
    enum Failure: Error, Equatable {
        /// The head is larger than the limit (431).
        case headTooLarge
        /// The head or the chunked framing is malformed or ambiguous (400).
        case malformed
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
    private var buffer: ByteBuffer?
    private var headScanOffset = 0
    private var stopsAfterRequest = false
    let maxHeadBytes: Int

    init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    mutating func feed(_ bytes: ByteBuffer) {
        if buffer == nil || buffer!.readableBytes == 0 {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer!.writeBuffer(&bytes)
        }
    }

    /// The bytes read but not parsed: after an upgrade request, the tunnel's first.
    mutating func takeBufferedBytes() -> ByteBuffer? {
        defer { buffer = nil }
        return buffer.flatMap { $0.readableBytes > 0 ? $0 : nil }
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
            guard var bytes = buffer, bytes.readableBytes > 0 else { return nil }
            let taken: (bytes: ByteBuffer?, ended: Bool)
            do {
                taken = try body.take(from: &bytes)
            } catch {
                state = .failed
                throw .malformed
            }
            buffer = bytes
            state = taken.ended ? .ending : .body(body)
            guard let slice = taken.bytes else { return try next() }
            return .body(slice)
        }
    }

    private mutating func nextHead() throws(Failure) -> Event? {
        guard var bytes = buffer else { return nil }
        // RFC 9112 §2.2: empty lines before a request line are ignored (some clients end a
        // body with an extra CRLF).
        while let byte = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
            byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        {
            bytes.moveReaderIndex(forwardBy: 1)
            headScanOffset = 0
        }
        buffer = bytes
        guard bytes.readableBytes > 0 else { return nil }
        let end = bytes.withUnsafeReadableBytes { HeadLines.endOfHead(in: $0, from: headScanOffset) }
        guard let end, end <= maxHeadBytes else {
            guard bytes.readableBytes <= maxHeadBytes else { throw .headTooLarge }
            headScanOffset = max(0, bytes.readableBytes - 2)
            return nil
        }
        let head: RequestHead
        do {
            head = try RequestHead(bytes.readSlice(length: end)!)
        } catch {
            throw .malformed
        }
        buffer = bytes
        headScanOffset = 0
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
