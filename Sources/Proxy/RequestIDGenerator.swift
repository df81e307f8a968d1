/// An `X-Request-Id` value: 32 hex digits, as nginx's `$request_id`. Written straight into
/// a head; text only for the access log.
struct RequestID: CustomStringConvertible {
    let high: UInt64
    let low: UInt64

    /// Writes the 32 hex digits.
    func write(into out: inout HeadWriter) {
        withDigits { out.write($0) }
    }

    var description: String {
        withDigits { String(decoding: $0, as: UTF8.self) }
    }

    private func withDigits<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeTemporaryAllocation(byteCount: 32, alignment: 1) { buffer in
            Self.writeHex(high, into: buffer, at: 0)
            Self.writeHex(low, into: buffer, at: 16)
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

/// Makes ``RequestID``s that neither repeat nor can be guessed from the ones seen before (an
/// app may take its request ids for nonces), without asking the system for randomness on
/// every request: each is SipHash (Swift's `Hasher`, keyed at random per process) of a
/// per-loop random key and a counter, 128 bits whose collision takes some 2^64 ids (with
/// `SWIFT_DETERMINISTIC_HASHING` set, the per-loop key alone keeps them unguessable).
struct RequestIDGenerator {
    private let key: UInt64
    private var counter: UInt64 = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        key = generator.next()
    }

    mutating func next() -> RequestID {
        counter &+= 1
        return RequestID(high: hash(half: 0), low: hash(half: 1))
    }

    private func hash(half: UInt8) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(key)
        hasher.combine(counter)
        hasher.combine(half)
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }
}
