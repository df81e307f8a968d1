import NIOCore
import Testing

@testable import Proxy

@Suite("Reusable head buffers")
struct ReusableBufferTests {
    private func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withUnsafeReadableBytes { $0.baseAddress }
    }

    @Test("A head still held by the channel is never overwritten; once let go, its memory is reused")
    func reuse() {
        var heads = ReusableBuffer()
        var first = heads.take()
        first.writeString("HTTP/1.1 200 OK\r\n\r\n")
        let held = first  // what the channel holds until it has written it
        heads.giveBack(first)

        var second = heads.take()
        second.writeString("HTTP/1.1 404 Not Found\r\n\r\n")
        #expect(String(buffer: held) == "HTTP/1.1 200 OK\r\n\r\n")
        #expect(address(second) != address(held))
        heads.giveBack(second)
        let secondAddress = address(second)
        second = ByteBuffer()  // written and released

        var third = heads.take()
        third.writeString("HTTP/1.1 204 No Content\r\n\r\n")
        #expect(address(third) == secondAddress, "the released buffer's memory is reused")
        #expect(String(buffer: third) == "HTTP/1.1 204 No Content\r\n\r\n")
    }
}
