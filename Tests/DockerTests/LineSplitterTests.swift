import NIOCore
import Testing

@testable import Docker

@Suite struct LineSplitterTests {
    private func lines(from chunks: [String]) -> (lines: [String], rest: String?) {
        var splitter = LineSplitter()
        var lines: [String] = []
        for chunk in chunks {
            splitter.append(ByteBuffer(string: chunk))
            while let line = splitter.nextLine() { lines.append(line) }
        }
        return (lines, splitter.finish())
    }

    @Test func severalLinesInOneChunk() {
        let result = lines(from: ["one\ntwo\nthree\n"])
        #expect(result.lines == ["one", "two", "three"])
        #expect(result.rest == nil)
    }

    @Test func lineSpanningChunks() {
        let result = lines(from: ["{\"stream\":", "\"Step 1/2\"}\n{\"str", "eam\":\"x\"}\n"])
        #expect(result.lines == [#"{"stream":"Step 1/2"}"#, #"{"stream":"x"}"#])
    }

    @Test func carriageReturnsAndEmptyLines() {
        #expect(lines(from: ["a\r\n\r\n", "\nb\r", "\n"]).lines == ["a", "", "", "b"])
    }

    @Test func unterminatedRestComesFromFinish() {
        let result = lines(from: ["done\npartial", " line"])
        #expect(result.lines == ["done"])
        #expect(result.rest == "partial line")
    }

    @Test func multiByteCharacterSplitBetweenChunks() {
        let bytes = Array("héllo\n".utf8)
        var splitter = LineSplitter()
        splitter.append(ByteBuffer(bytes: bytes[..<2]))
        #expect(splitter.nextLine() == nil)
        splitter.append(ByteBuffer(bytes: bytes[2...]))
        #expect(splitter.nextLine() == "héllo")
    }

    @Test func aCappedSplitterCutsLongLinesInPieces() {
        var splitter = LineSplitter(maxLineBytes: 10)
        splitter.append(ByteBuffer(string: String(repeating: "a", count: 25)))
        var lines: [String] = []
        while let line = splitter.nextLine() { lines.append(line) }
        #expect(lines == [String(repeating: "a", count: 10), String(repeating: "a", count: 10)])
        splitter.append(ByteBuffer(string: "b\nshort\n"))
        while let line = splitter.nextLine() { lines.append(line) }
        #expect(lines.suffix(2) == ["aaaaab", "short"])
    }
}
