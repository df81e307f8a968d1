import NIOCore
import Testing

@testable import API

/// The buffer between an app's log streams and a slow client.
@Suite struct LineSinkTests {
    @Test func aFullBufferDropsTheOldestLinesAndCountsThem() async {
        let (lines, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(3))
        let sink = LineSink(continuation: continuation)
        for index in 1...5 { sink.yield("line \(index)\n") }
        sink.finish()
        #expect(sink.takeDropped() == 2)
        #expect(sink.takeDropped() == 0, "counted once")
        var read: [String] = []
        for await line in lines { read.append(String(buffer: line)) }
        #expect(read == ["line 3\n", "line 4\n", "line 5\n"])
    }
}
