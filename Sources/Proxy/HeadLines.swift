#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The lines of a head, without their line ends (CRLF or a bare LF; ``sawBareLineFeed``
/// tells which).
struct HeadLines {
    let bytes: UnsafeRawBufferPointer
    private(set) var sawBareLineFeed = false
    /// Where the next line starts.
    private(set) var position: Int

    init(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) {
        self.bytes = bytes
        self.position = start
    }

    mutating func next() -> Range<Int>? {
        guard position < bytes.count,
            let lineFeed = bytes.firstIndex(of: UInt8(ascii: "\n"), in: position..<bytes.count)
        else { return nil }
        var end = lineFeed
        if end > position && bytes[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        } else {
            sawBareLineFeed = true
        }
        defer { position = lineFeed + 1 }
        return position..<end
    }

    /// Where a head ends in `bytes` (just past its empty line), or nil while it is incomplete;
    /// the search starts at `start`.
    static func endOfHead(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            guard let lineFeed = bytes.firstIndex(of: UInt8(ascii: "\n"), in: index..<bytes.count) else { return nil }
            let next = lineFeed + 1
            if next < bytes.count && bytes[next] == UInt8(ascii: "\n") {
                return next + 1
            }
            if next + 1 < bytes.count && bytes[next] == UInt8(ascii: "\r") && bytes[next + 1] == UInt8(ascii: "\n") {
                return next + 2
            }
            index = next
        }
        return nil
    }
}

extension UnsafeRawBufferPointer {
    /// The index of the first `byte` within `range`, found with `memchr` (vectorized), not a
    /// byte-by-byte loop: heads are searched for line ends and colons on every request.
    func firstIndex(of byte: UInt8, in range: Range<Int>) -> Int? {
        guard let base = baseAddress, !range.isEmpty else { return nil }
        guard let found = memchr(base + range.lowerBound, Int32(byte), range.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Whether `literal` is at `offset` (compared with `memcmp`).
    func hasBytes(_ literal: StaticString, at offset: Int) -> Bool {
        literal.withUTF8Buffer { expected in
            guard let base = baseAddress, let other = expected.baseAddress, offset >= 0,
                offset + expected.count <= count
            else { return expected.isEmpty }
            return memcmp(base + offset, other, expected.count) == 0
        }
    }
}
