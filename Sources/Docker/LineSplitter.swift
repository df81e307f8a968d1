import NIOCore

/// Cuts a byte stream that arrives in arbitrary chunks into `\n`-terminated lines: one chunk
/// may carry several lines and one line may span chunks. With `maxLineBytes`, a longer line
/// comes out in pieces of that size, so output that never ends a line cannot pile up.
struct LineSplitter: Sendable {
    private var pending = ByteBuffer()
    private let maxLineBytes: Int

    init(maxLineBytes: Int = .max) {
        self.maxLineBytes = maxLineBytes
    }

    /// Adds the next chunk of the stream.
    mutating func append(_ chunk: ByteBuffer) {
        var chunk = chunk
        pending.writeBuffer(&chunk)
    }

    /// The next complete line without its `\n` (nor a `\r` before it), or nil until one has
    /// arrived.
    mutating func nextLine() -> String? {
        let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))
        if (newline ?? pending.writerIndex) - pending.readerIndex > maxLineBytes {
            return pending.readString(length: maxLineBytes)
        }
        guard let newline else {
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
