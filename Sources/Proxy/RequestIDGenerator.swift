/// Makes `X-Request-Id` values: 32 hex digits, a random per-loop prefix followed by a counter,
/// so they are unique without asking the system for randomness on every request.
struct RequestIDGenerator {
    private let prefix: UInt64
    private var counter: UInt64

    init() {
        var generator = SystemRandomNumberGenerator()
        prefix = generator.next()
        counter = generator.next()
    }

    mutating func next() -> String {
        counter &+= 1
        let prefix = self.prefix
        let counter = self.counter
        return String(unsafeUninitializedCapacity: 32) { buffer in
            Self.writeHex(prefix, into: buffer, at: 0)
            Self.writeHex(counter, into: buffer, at: 16)
            return 32
        }
    }

    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for index in 0..<16 {
                let nibble = Int((value >> UInt64(60 - 4 * index)) & 0xF)
                buffer[offset + index] = digits[nibble]
            }
        }
    }
}
