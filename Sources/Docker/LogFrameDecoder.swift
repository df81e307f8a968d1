import NIOCore

/// Decodes the engine's multiplexed log stream: each frame is an 8-byte header (stream type
/// 0/1/2, three zero bytes, big-endian `UInt32` payload size) followed by the payload.
///
/// Chunks go in as they arrive; a frame may span chunks and one chunk may carry several frames.
struct LogFrameDecoder: Sendable {
    /// One decoded frame.
    struct Frame: Equatable, Sendable {
        var stream: LogStream
        var payload: ByteBuffer
    }

    /// The stream is not multiplexed (a container with a TTY) or is corrupt.
    struct InvalidHeader: Error, CustomStringConvertible {
        var header: [UInt8]
        var description: String {
            "log stream frame header \(header) is not [stream 0-2, 0, 0, 0, size]: is the container running with a TTY?"
        }
    }

    private enum State: Sendable {
        case awaitingHeader
        case awaitingPayload(LogStream, size: Int)
    }

    private static let headerSize = 8
    private var state = State.awaitingHeader
    private var buffered = ByteBuffer()

    /// Adds the next chunk of the stream.
    mutating func append(_ chunk: ByteBuffer) {
        var chunk = chunk
        buffered.writeBuffer(&chunk)
    }

    /// The next complete frame, or nil until one has arrived.
    mutating func nextFrame() throws -> Frame? {
        while true {
            switch state {
            case .awaitingHeader:
                guard let header = buffered.readBytes(length: Self.headerSize) else {
                    buffered.discardReadBytes()
                    return nil
                }
                guard let stream = LogStream(frameType: header[0]), header[1...3] == [0, 0, 0] else {
                    throw InvalidHeader(header: header)
                }
                let size = header[4...].reduce(0) { $0 << 8 | Int($1) }
                state = .awaitingPayload(stream, size: size)
            case .awaitingPayload(let stream, let size):
                guard let slice = buffered.readSlice(length: size) else { return nil }
                state = .awaitingHeader
                // A copy, not the slice: a slice kept by a reader (output waiting for a slow
                // client) would pin this buffer's storage, and make every later append copy it
                // whole; memory grew to gigabytes for 100 MB of output.
                return Frame(stream: stream, payload: ByteBuffer(buffer: slice))
            }
        }
    }

    /// Whether the stream ended between frames, as it should.
    var isAtFrameBoundary: Bool {
        if case .awaitingHeader = state { return buffered.readableBytes == 0 }
        return false
    }
}
