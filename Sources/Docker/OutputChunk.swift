import NIOCore

/// A piece of a container's output exactly as the program wrote it: the payload of one frame
/// of the engine's multiplexed stream, any bytes, not cut at line ends.
public struct OutputChunk: Sendable, Equatable {
    public var stream: LogStream
    public var bytes: ByteBuffer

    public init(stream: LogStream, bytes: ByteBuffer) {
        self.stream = stream
        self.bytes = bytes
    }
}

/// Turns the engine's multiplexed stream into ``OutputChunk``s.
struct OutputChunkDecoder: ResponseStreamDecoder {
    private var frames = LogFrameDecoder()

    mutating func decode(_ chunk: ByteBuffer) throws -> [OutputChunk] {
        frames.append(chunk)
        var decoded: [OutputChunk] = []
        while let frame = try frames.nextFrame() {
            decoded.append(OutputChunk(stream: frame.stream, bytes: frame.payload))
        }
        return decoded
    }

    func finish() throws -> [OutputChunk] {
        guard frames.isAtFrameBoundary else {
            throw DockerError.badResponse("the container log stream ended inside a frame")
        }
        return []
    }
}

/// Assembles a container's output chunks into lines tagged with their stream; a line may span
/// chunks, and the lines of stdout and stderr are assembled apart. A line longer than
/// ``maxLineBytes`` comes out in pieces, so an app that never ends a line cannot make its
/// reader hold it all.
public struct OutputLines: Sendable {
    static let maxLineBytes = 64 << 10

    private var splitters: [LogStream: LineSplitter] = [:]

    public init() {}

    /// The lines `chunk` completes.
    public mutating func lines(completedBy chunk: OutputChunk) -> [LogLine] {
        splitters[chunk.stream, default: LineSplitter(maxLineBytes: Self.maxLineBytes)].append(chunk.bytes)
        var lines: [LogLine] = []
        while let text = splitters[chunk.stream]?.nextLine() {
            lines.append(LogLine(stream: chunk.stream, text: text))
        }
        return lines
    }

    /// What is left after the last line end of each stream, once the output has ended.
    public mutating func finish() -> [LogLine] {
        [LogStream.stdin, .stdout, .stderr].compactMap { stream in
            splitters[stream]?.finish().map { LogLine(stream: stream, text: $0) }
        }
    }
}
