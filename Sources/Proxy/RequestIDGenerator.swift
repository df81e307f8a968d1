/// An `X-Request-Id` value: 32 hex digits, a random per-loop prefix followed by a counter.
/// Written straight into a head; text only for the access log.
struct RequestID: CustomStringConvertible {
    let prefix: UInt64
    let counter: UInt64

    /// Writes the 32 hex digits.
    func write(into out: inout HeadWriter) {
        withDigits { out.write($0) }
    }

    var description: String {
        withDigits { String(decoding: $0, as: UTF8.self) }
    }

    private func withDigits<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { buffer in
            Self.writeHex(prefix, into: buffer, at: 0)
            Self.writeHex(counter, into: buffer, at: 16)
            return body(UnsafeRawBufferPointer(buffer))
        }
    }

    private static func writeHex(_ value: UInt64, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { digits in
            for index in 0..<16 {
                let nibble = Int((value >> UInt64(60 - 4 * index)) & 0xF)
                buffer[offset + index] = digits[nibble]
            }
        }
    }
}

/// Makes ``RequestID``s, unique without asking the system for randomness on every request.
struct RequestIDGenerator {
    private let prefix: UInt64
    private var counter: UInt64

    init() {
        var generator = SystemRandomNumberGenerator()
        prefix = generator.next()
        counter = generator.next()
    }

    mutating func next() -> RequestID {
        counter &+= 1
        return RequestID(prefix: prefix, counter: counter)
    }
}
