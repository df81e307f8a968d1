import NIOCore

/// The bytes read from a connection and not handed on yet, with the search for the end of the
/// next head in them. Shared by ``RequestReader`` and ``ResponseReader``.
struct HeadBuffer {
    /// More than the limit arrived without the end of a head.
    struct TooLarge: Error {}

    private var bytes = ByteBuffer()
    /// Where to go on looking for the end of the head: what was searched before cannot hold
    /// it, except for the last two bytes, which may begin the empty line.
    private var scanOffset = 0

    var isEmpty: Bool { bytes.readableBytes == 0 }

    /// Appends what a read brought. Consumed bytes are dropped first once they are most of
    /// the buffer, so a long-lived connection's buffer does not grow.
    mutating func append(_ new: ByteBuffer) {
        if bytes.readableBytes == 0 {
            bytes = new
            return
        }
        if bytes.readerIndex > bytes.capacity / 2 {
            let removed = bytes.readerIndex
            bytes.discardReadBytes()
            scanOffset = max(0, scanOffset - removed)
        }
        var new = new
        bytes.writeBuffer(&new)
    }

    /// The next complete head, from its first line to its empty line, taken out of the buffer;
    /// nil while it is incomplete. Empty lines before a head are skipped (RFC 9112 §2.2).
    mutating func takeHead(maxBytes: Int) throws(TooLarge) -> ByteBuffer? {
        while let byte = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
            byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        {
            bytes.moveReaderIndex(forwardBy: 1)
            scanOffset = 0
        }
        guard bytes.readableBytes > 0 else { return nil }
        let end = bytes.withUnsafeReadableBytes { HeadLines.endOfHead(in: $0, from: scanOffset) }
        guard let end, end <= maxBytes else {
            guard bytes.readableBytes <= maxBytes else { throw TooLarge() }
            scanOffset = max(0, bytes.readableBytes - 2)
            return nil
        }
        scanOffset = 0
        defer { releaseIfEmpty() }
        return bytes.readSlice(length: end)
    }

    /// Lets go of a fully read buffer, so that NIO can read into it again instead of
    /// allocating a new one for the next read.
    private mutating func releaseIfEmpty() {
        if bytes.readableBytes == 0 {
            bytes = ByteBuffer()
        }
    }

    /// The next bytes of `body`, taken out of the buffer, and whether the body ended with them.
    mutating func takeBody(_ body: inout MessageBody) throws -> (bytes: ByteBuffer?, ended: Bool) {
        guard bytes.readableBytes > 0 else { return (nil, false) }
        defer { releaseIfEmpty() }
        return try body.take(from: &bytes)
    }

    /// Everything left, for a tunnel.
    mutating func takeAll() -> ByteBuffer? {
        defer { bytes = ByteBuffer() }
        return bytes.readableBytes > 0 ? bytes : nil
    }
}
