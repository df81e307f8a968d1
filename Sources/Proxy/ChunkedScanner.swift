/// Finds the structure of a `Transfer-Encoding: chunked` body in its raw bytes: where the
/// chunk data is and where the message ends, so that the proxy can forward the bytes as they
/// are (or only the data, for an HTTP/1.0 client) without decoding and re-encoding them.
///
/// ```
///   size ─▶ [sizeSpace ─▶] sizeExtension ─▶ sizeLF ─▶ data(n) ─▶ dataCR ─▶ dataLF ─▶ size ...
///    │ "0"
///    └─▶ trailerLineStart ─▶ trailerName ─▶ trailerValue ─▶ trailerLF ─▶ trailerLineStart
///                   └─(empty line)─▶ done
/// ```
///
/// Bodies are forwarded as they came, so the next hop must frame them exactly as the proxy
/// does: line ends are CRLF, an extension (after optional spaces) is visible characters and
/// obs-text, and trailer lines are field lines. nginx reads responses more leniently (a bare LF ends a line), but it re-chunks
/// them; forwarded as they came, such bytes would be framed otherwise by a proxy in front.
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
        /// Spaces after the size, which only a `;` may follow (RFC 9112's BWS); they count
        /// toward the extension's length.
        case sizeSpace(length: Int)
        case sizeExtension(length: Int)
        case sizeLF
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLF
        case trailerEndLF
        case done
    }

    /// At most 16 hex digits (leading zeros included), as Go and nginx allow.
    private static let maxSizeDigits = 16
    /// Chunks above 2^60 bytes are refused, which keeps the size arithmetic from overflowing.
    private static let maxChunkSize = 1 << 60
    private static let maxExtensionLength = 4096
    private static let maxTrailerBytes = 16 * 1024

    private var state = State.size(digits: 0)
    private var size = 0
    private var trailerBytes = 0

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
                guard digits < Self.maxSizeDigits, size <= Self.maxChunkSize >> 4 else { throw MalformedChunk() }
                size = size << 4 | value
                state = .size(digits: digits + 1)
            } else if digits > 0 && byte == UInt8(ascii: ";") {
                state = .sizeExtension(length: 0)
            } else if digits > 0 && (byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")) {
                state = .sizeSpace(length: 1)
            } else if digits > 0 && byte == UInt8(ascii: "\r") {
                state = .sizeLF
            } else {
                throw MalformedChunk()
            }
        case .sizeSpace(let length):
            if byte == UInt8(ascii: ";") {
                state = .sizeExtension(length: length)
            } else {
                guard length < Self.maxExtensionLength, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
                else { throw MalformedChunk() }
                state = .sizeSpace(length: length + 1)
            }
        case .sizeExtension(let length):
            if byte == UInt8(ascii: "\r") {
                state = .sizeLF
            } else {
                guard length < Self.maxExtensionLength, Self.isExtensionCharacter(byte) else { throw MalformedChunk() }
                state = .sizeExtension(length: length + 1)
            }
        case .sizeLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            endSizeLine()
        case .dataCR:
            guard byte == UInt8(ascii: "\r") else { throw MalformedChunk() }
            state = .dataLF
        case .dataLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            state = .size(digits: 0)
        case .trailerLineStart:
            if byte == UInt8(ascii: "\r") {
                state = .trailerEndLF
            } else {
                try countTrailerByte()
                guard HeadFields.isTokenCharacter(byte) else { throw MalformedChunk() }
                state = .trailerName
            }
        case .trailerName:
            try countTrailerByte()
            if byte == UInt8(ascii: ":") {
                state = .trailerValue
            } else if !HeadFields.isTokenCharacter(byte) {
                throw MalformedChunk()
            }
        case .trailerValue:
            try countTrailerByte()
            if byte == UInt8(ascii: "\r") {
                state = .trailerLF
            } else if !HeadFields.isFieldValueCharacter(byte) {
                throw MalformedChunk()
            }
        case .trailerLF:
            guard byte == UInt8(ascii: "\n") else { throw MalformedChunk() }
            state = .trailerLineStart
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

    private mutating func countTrailerByte() throws {
        trailerBytes += 1
        guard trailerBytes <= Self.maxTrailerBytes else { throw MalformedChunk() }
    }

    /// Visible characters, spaces and obs-text (quoted extension values may carry it).
    private static func isExtensionCharacter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || (0x21...0x7E).contains(byte) || byte >= 0x80
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
