import NIOCore

/// Delimits one message body in the bytes that follow its head, handing the bytes on as the
/// slices they arrived in: counted down for `Content-Length`, scanned for the last chunk for
/// `chunked` (``ChunkedScanner``), or taken until the connection ends.
struct MessageBody {
    enum Framing {
        case length(remaining: Int)
        case chunked(ChunkedScanner)
        case untilClose
    }

    private var framing: Framing
    /// Hand on only the chunk data (for an HTTP/1.0 client), not the chunked framing.
    private let dechunks: Bool

    init(_ framing: Framing, dechunks: Bool = false) {
        self.framing = framing
        self.dechunks = dechunks
    }

    /// Whether the body ends only with the connection.
    var endsWithConnection: Bool {
        if case .untilClose = framing { return true }
        return false
    }

    /// Takes the next body bytes out of `buffer`, if any, and tells whether the body ended
    /// with them. Bytes after the end of the body stay in `buffer`.
    mutating func take(from buffer: inout ByteBuffer) throws -> (bytes: ByteBuffer?, ended: Bool) {
        switch framing {
        case .untilClose:
            guard buffer.readableBytes > 0 else { return (nil, false) }
            return (buffer.readSlice(length: buffer.readableBytes), false)
        case .length(let remaining):
            let length = min(remaining, buffer.readableBytes)
            framing = .length(remaining: remaining - length)
            return (length > 0 ? buffer.readSlice(length: length) : nil, remaining == length)
        case .chunked(var scanner):
            defer { framing = .chunked(scanner) }
            if dechunks {
                return try takeChunkData(&scanner, from: &buffer)
            }
            var consumed = 0
            try buffer.withUnsafeReadableBytes { raw in
                while consumed < raw.count && !scanner.isDone {
                    consumed += try scanner.advance(UnsafeRawBufferPointer(rebasing: raw[consumed...])).consumed
                }
            }
            return (consumed > 0 ? buffer.readSlice(length: consumed) : nil, scanner.isDone)
        }
    }

    /// The next run of chunk data, skipping the framing around it.
    private func takeChunkData(
        _ scanner: inout ChunkedScanner, from buffer: inout ByteBuffer
    ) throws -> (bytes: ByteBuffer?, ended: Bool) {
        while buffer.readableBytes > 0 {
            let step = try buffer.withUnsafeReadableBytes { try scanner.advance($0) }
            let data = step.data.map { buffer.getSlice(at: buffer.readerIndex + $0.lowerBound, length: $0.count)! }
            buffer.moveReaderIndex(forwardBy: step.consumed)
            if step.ended || data != nil {
                return (data, step.ended)
            }
        }
        return (nil, false)
    }
}
