/// Finds the structure of a `Transfer-Encoding: chunked` body in its raw bytes: where the
/// chunk data is and where the message ends, so that the proxy can forward the bytes as they
/// are (or only the data, for an HTTP/1.0 client) without decoding and re-encoding them.
///
/// ```
///   size ─▶ sizeExtension ─▶ (LF) ─▶ data(n) ─▶ dataCR ─▶ dataLF ─▶ size ...
///    │ "0"
///    └──(LF)──▶ trailerLineStart ─▶ trailerLine ─(LF)─▶ trailerLineStart ─(empty line)─▶ done
/// ```
///
/// CRLF and bare LF line ends are both accepted, as nginx does.
struct ChunkedScanner {
    /// What one call of ``advance(_:)`` found.
    struct Step {
        /// Bytes of the input that were scanned (they belong to the message).
        var consumed: Int
        /// Chunk data within those bytes, if the step ended on some.
        var data: Range<Int>?
        /// The message ended within those bytes (the last chunk and its trailers are done).
        var ended: Bool
    }

    /// The body is not valid chunked framing.
    struct MalformedChunk: Error {}

    private enum State {
        case size(digits: Int)
        case sizeExtension
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerLine
        case trailerEndLF
        case done
    }

    /// Chunks above this size are refused: 2^40 bytes (1 TiB) is more than any body here, and
    /// the bound keeps the size arithmetic far from overflow.
    private static let maxChunkSize = 1 << 40

    private var state = State.size(digits: 0)
    private var size = 0

    /// Whether the message ended.
    var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Scans `bytes` from the start: stops after a run of chunk data (so the caller can take it),
    /// at the end of the message, or at the end of `bytes`.
    mutating func advance(_ bytes: UnsafeRawBufferPointer) throws -> Step {
        var index = 0
        while index < bytes.count {
            if case .data(let remaining) = state {
                let length = min(remaining, bytes.count - index)
                let range = index..<(index + length)
                state = remaining == length ? .dataCR : .data(remaining: remaining - length)
                return Step(consumed: range.upperBound, data: range, ended: false)
            }
            let byte = bytes[index]
            index += 1
            try consume(byte)
            if case .done = state {
                return Step(consumed: index, data: nil, ended: true)
            }
        }
        return Step(consumed: index, data: nil, ended: false)
    }

    private mutating func consume(_ byte: UInt8) throws {
        switch state {
        case .size(let digits):
            if let value = Self.hexValue(byte) {
                guard size <= Self.maxChunkSize >> 4 else { throw MalformedChunk() }
                size = size << 4 | value
                state = .size(digits: digits + 1)
            } else if digits > 0
                && (byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t"))
            {
                state = .sizeExtension
            } else if digits > 0 && byte == UInt8(ascii: "\r") {
                state = .sizeLF
            } else if digits > 0 && byte == UInt8(ascii: "\n") {
                endSizeLine()
            } else {
                throw MalformedChunk()
            }
        case .sizeExtension:
            if byte == UInt8(ascii: "\n") {
                endSizeLine()
            }
        case .sizeLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            endSizeLine()
        case .dataCR:
            if byte == UInt8(ascii: "\r") {
                state = .dataLF
            } else if byte == UInt8(ascii: "\n") {
                state = .size(digits: 0)
            } else {
                throw MalformedChunk()
            }
        case .dataLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            state = .size(digits: 0)
        case .trailerLineStart:
            if byte == UInt8(ascii: "\r") {
                state = .trailerEndLF
            } else if byte == UInt8(ascii: "\n") {
                state = .done
            } else {
                state = .trailerLine
            }
        case .trailerLine:
            if byte == UInt8(ascii: "\n") {
                state = .trailerLineStart
            }
        case .trailerEndLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            state = .done
        case .data, .done:
            preconditionFailure("data is taken in runs and nothing follows the end")
        }
    }

    private mutating func endSizeLine() {
        state = size == 0 ? .trailerLineStart : .data(remaining: size)
        size = 0
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
