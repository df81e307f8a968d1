import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a head into a buffer's spare capacity with plain memory copies. A head is written
/// in a dozen pieces, and each `ByteBuffer` write would check capacity and access on its own.
struct HeadWriter {
    private let memory: UnsafeMutableRawBufferPointer
    /// Bytes written so far.
    private(set) var count = 0

    /// Runs `body` with a writer over at least `maxBytes` of `buffer`'s spare capacity, then
    /// moves the buffer's writer index past what it wrote.
    static func write<Result>(
        into buffer: inout ByteBuffer,
        maxBytes: Int,
        _ body: (inout HeadWriter) -> Result
    ) -> Result {
        var result: Result?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxBytes) { memory in
            var writer = HeadWriter(memory: memory)
            result = body(&writer)
            return writer.count
        }
        return result!
    }

    private init(memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        precondition(count + bytes.count <= memory.count, "a head outgrew the room reserved for it")
        memcpy(memory.baseAddress! + count, source, bytes.count)
        count += bytes.count
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        write(UnsafeRawBufferPointer(rebasing: bytes[range]))
    }

    mutating func write(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { write($0) }
    }

    mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }
}
