import NIOCore

/// A buffer a connection reuses for the heads it writes. Once the channel has written the last
/// head and let go of it, clearing keeps the memory, so a keep-alive connection writes heads
/// without allocating; while the channel still holds it, a new one is allocated instead.
struct ReusableBuffer {
    /// Buffers that grew past this (a huge head) are not kept.
    private static let maxKeptCapacity = 8192
    private var spare: ByteBuffer?

    /// An empty buffer: the spare one when nobody else holds it, a new one otherwise.
    mutating func take() -> ByteBuffer {
        guard var buffer = spare.take() else {
            return ByteBufferAllocator().buffer(capacity: 512)
        }
        buffer.clear()
        return buffer
    }

    /// Keeps `buffer` (already handed to the channel) for the next ``take()``.
    mutating func giveBack(_ buffer: ByteBuffer) {
        if buffer.capacity <= Self.maxKeptCapacity {
            spare = buffer
        }
    }
}
