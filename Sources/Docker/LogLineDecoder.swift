import NIOCore

/// Turns the multiplexed log stream into lines tagged with their stream; a line may span
/// frames, and the lines of stdout and stderr are assembled apart. A line longer than
/// ``maxLineBytes`` comes out in pieces, so an app that never ends a line cannot make its
/// reader hold it all.
struct LogLineDecoder: ResponseStreamDecoder {
    static let maxLineBytes = 64 << 10

    private var frames = LogFrameDecoder()
    private var lines: [LogStream: LineSplitter] = [:]

    mutating func decode(_ chunk: ByteBuffer) throws -> [LogLine] {
        frames.append(chunk)
        var decoded: [LogLine] = []
        while let frame = try frames.nextFrame() {
            lines[frame.stream, default: LineSplitter(maxLineBytes: Self.maxLineBytes)].append(frame.payload)
            while let text = lines[frame.stream]?.nextLine() {
                decoded.append(LogLine(stream: frame.stream, text: text))
            }
        }
        return decoded
    }

    mutating func finish() throws -> [LogLine] {
        guard frames.isAtFrameBoundary else {
            throw DockerError.badResponse("the container log stream ended inside a frame")
        }
        return [LogStream.stdin, .stdout, .stderr].compactMap { stream in
            lines[stream]?.finish().map { LogLine(stream: stream, text: $0) }
        }
    }
}
