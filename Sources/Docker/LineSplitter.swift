import NIOCore

/// Cuts a byte stream that arrives in arbitrary chunks into `\n`-terminated lines: one chunk
/// may carry several lines and one line may span chunks.
struct LineSplitter: Sendable {
    private var pending = ByteBuffer()

    /// Adds the next chunk of the stream.
    mutating func append(_ chunk: ByteBuffer) {
        var chunk = chunk
        pending.writeBuffer(&chunk)
    }

    /// The next complete line without its `\n` (nor a `\r` before it), or nil until one has
    /// arrived.
    mutating func nextLine() -> String? {
        guard let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            pending.discardReadBytes()
            return nil
        }
        let line = String(decoding: pending.readableBytesView[..<newline], as: UTF8.self)
        pending.moveReaderIndex(to: newline + 1)
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    /// What is left after the last `\n` when the stream has ended, if anything.
    mutating func finish() -> String? {
        defer { pending.clear() }
        guard pending.readableBytes > 0 else { return nil }
        return String(buffer: pending)
    }
}
