import NIOCore
import Testing

@testable import Docker

@Suite struct LogFrameDecoderTests {
    /// A frame as the engine writes it.
    private func frame(_ type: UInt8, _ payload: String) -> [UInt8] {
        let size = UInt32(payload.utf8.count)
        return [type, 0, 0, 0] + withUnsafeBytes(of: size.bigEndian, Array.init) + Array(payload.utf8)
    }

    private func decodeFrames(_ chunks: [[UInt8]]) throws -> [LogFrameDecoder.Frame] {
        var decoder = LogFrameDecoder()
        var frames: [LogFrameDecoder.Frame] = []
        for chunk in chunks {
            decoder.append(ByteBuffer(bytes: chunk))
            while let frame = try decoder.nextFrame() { frames.append(frame) }
        }
        #expect(decoder.isAtFrameBoundary)
        return frames
    }

    private func decodeLines(_ chunks: [[UInt8]]) throws -> [LogLine] {
        var decoder = OutputChunkDecoder()
        var lines = OutputLines()
        let output = try chunks.flatMap { try decoder.decode(ByteBuffer(bytes: $0)) } + decoder.finish()
        return output.flatMap { lines.lines(completedBy: $0) } + lines.finish()
    }

    @Test func severalFramesInOneChunk() throws {
        let frames = try decodeFrames([frame(1, "out\n") + frame(2, "err\n") + frame(1, "")])
        #expect(
            frames == [
                .init(stream: .stdout, payload: ByteBuffer(string: "out\n")),
                .init(stream: .stderr, payload: ByteBuffer(string: "err\n")),
                .init(stream: .stdout, payload: ByteBuffer()),
            ]
        )
    }

    @Test func framesSplitAtEveryByte() throws {
        let bytes = frame(2, "a longer line\n") + frame(1, "second\n")
        let frames = try decodeFrames(bytes.map { [$0] })
        #expect(frames.map(\.stream) == [.stderr, .stdout])
        #expect(frames.map { String(buffer: $0.payload) } == ["a longer line\n", "second\n"])
    }

    @Test func headerSplitBetweenChunks() throws {
        let bytes = frame(1, "x\n")
        let frames = try decodeFrames([Array(bytes[..<3]), Array(bytes[3..<9]), Array(bytes[9...])])
        #expect(frames.map { String(buffer: $0.payload) } == ["x\n"])
    }

    @Test func largeFrameSize() throws {
        let payload = String(repeating: "z", count: 70_000)
        let frames = try decodeFrames([frame(1, payload)])
        #expect(frames.first?.payload.readableBytes == 70_000)
    }

    @Test func rawStreamIsRejected() {
        var decoder = LogFrameDecoder()
        decoder.append(ByteBuffer(string: "plain text from a TTY\n"))
        #expect(throws: LogFrameDecoder.InvalidHeader.self) { try decoder.nextFrame() }
    }

    @Test func linesSpanFramesPerStream() throws {
        let lines = try decodeLines([
            frame(1, "hel") + frame(2, "oops\nwa"),
            frame(1, "lo\nworld\n") + frame(2, "rning"),
        ])
        #expect(
            lines == [
                LogLine(stream: .stderr, text: "oops"),
                LogLine(stream: .stdout, text: "hello"),
                LogLine(stream: .stdout, text: "world"),
                LogLine(stream: .stderr, text: "warning"),
            ]
        )
    }

    @Test func endlessLinesComeOutInPieces() throws {
        let size = OutputLines.maxLineBytes
        let chunk = frame(1, String(repeating: "y", count: size / 2))
        let lines = try decodeLines(Array(repeating: chunk, count: 5))
        #expect(lines.map(\.text.count) == [size, size, size / 2])
    }

    @Test func streamEndingInsideAFrameFails() {
        var decoder = OutputChunkDecoder()
        #expect(throws: DockerError.self) {
            _ = try decoder.decode(ByteBuffer(bytes: frame(1, "cut short\n").dropLast(3)))
            _ = try decoder.finish()
        }
    }
}
