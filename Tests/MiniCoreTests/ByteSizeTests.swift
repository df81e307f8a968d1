import MiniCore
import Testing

@Suite("byte sizes")
struct ByteSizeTests {
    @Test("sizes as people write them")
    func parses() {
        #expect(ByteSize.parse("512m") == 512 << 20)
        #expect(ByteSize.parse("2G") == 2 << 30)
        #expect(ByteSize.parse("0.5k") == 512)
        #expect(ByteSize.parse("1048576") == 1_048_576)
        // With Docker's optional b.
        #expect(ByteSize.parse("64mb") == 64 << 20)
        #expect(ByteSize.parse("1GB") == 1 << 30)
        #expect(ByteSize.parse("4096b") == 4096)
        #expect(ByteSize.parse("64MiB") == 64 << 20)
        #expect(ByteSize.parse("1.5gb") == 3 << 29)
    }

    @Test("sizes are written in the largest unit they reach, and read back")
    func formats() throws {
        #expect(ByteSize.format(128 << 10) == "128k")
        #expect(ByteSize.format((128 << 10) + 200) == "128.2k")
        #expect(ByteSize.format((128 << 10) + 1, rounding: .up) == "128.1k", "over the limit, never shown as it")
        #expect(ByteSize.format((1 << 30) - 1, rounding: .down) == "1023.9m")
        #expect(ByteSize.format(try #require(ByteSize.parse("1.1g"))) == "1.1g", "shown as given, though parse cut it")
        #expect(ByteSize.format(256 << 20) == "256m")
        #expect(ByteSize.format(3 << 29) == "1.5g")
        #expect(ByteSize.format(500) == "500b")
        for bytes: Int64 in [500, 128 << 10, 256 << 20, 3 << 29] {
            #expect(ByteSize.parse(ByteSize.format(bytes)) == bytes)
        }
    }

    @Test(
        "what is not a size of at least a byte that fits in 64 bits is refused, not trapped on",
        arguments: [
            "", "m", "b", "mb", "0", "-1", "0m", "0.0001k", "9000000000g", "99999999999999999999g", "infm", "nang",
            "1x",
            "1bb", "0x40m", "1e3m", "+64m", "64 m", "1.2.3m", ".5m", "1.5", "nan",
        ]
    )
    func refuses(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }
}
