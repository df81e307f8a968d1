import NIOCore

/// An upstream's response head as it came over the wire, with just enough parsed to forward
/// it: the status, the framing headers and where each field line is. The client gets the
/// same bytes back, minus the hop-by-hop fields (see ``HeaderRewriting/clientResponseHead``),
/// instead of a head decoded into strings and encoded again.
struct ResponseHead {
    /// One header field line: where its name and value are in ``bytes``, and what it is.
    struct Field {
        var line: Range<Int>
        var name: Range<Int>
        var value: Range<Int>
        var kind: HeaderScan
    }

    /// The head is not HTTP/1.x as the proxy can forward it.
    struct Malformed: Error {}

    /// The head, from the status line up to and including the empty line.
    let bytes: ByteBuffer
    let minorVersion: Int
    let status: Int
    /// The status code and reason phrase (`200 OK`), without the line end.
    let statusLine: Range<Int>
    let fields: [Field]
    /// Every kind of field found.
    let found: HeaderScan
    /// `Content-Length`, when present (and consistent).
    let contentLength: Int?
    /// `Transfer-Encoding` ends with `chunked`.
    let isChunked: Bool
    /// Whether the upstream keeps the connection open after this response, by its version and
    /// `Connection` header.
    let keepsConnection: Bool
    /// Lowercased field names the `Connection` header lists besides `close`, `keep-alive` and
    /// `upgrade`: hop-by-hop fields of this connection only. Usually empty.
    let connectionListed: Set<String>

    /// Where the head ends in `bytes` (the index just past its empty line), or nil while
    /// it is incomplete. Lines may end with CRLF or a bare LF (CGI scripts, busybox httpd).
    static func endIndex(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            guard let lineFeed = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
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

    /// Parses a complete head (as delimited by ``endIndex(in:from:)``).
    init(_ head: ByteBuffer) throws {
        bytes = head
        var minorVersion = 0
        var status = 0
        var statusLine = 0..<0
        var fields: [Field] = []
        var found: HeaderScan = []
        var contentLength: Int?
        var isChunked = false
        var closes = false
        var keepsAlive = false
        var connectionListed: Set<String> = []
        try head.withUnsafeReadableBytes { bytes in
            var lines = LineIterator(bytes: bytes)
            guard let first = lines.next(), first.count >= 12,
                Self.startsWithHTTP1(bytes[first]), let minor = Self.digit(bytes[first.lowerBound + 7]),
                bytes[first.lowerBound + 8] == UInt8(ascii: " "),
                let code = Self.statusCode(bytes[(first.lowerBound + 9)..<(first.lowerBound + 12)]),
                first.count == 12 || bytes[first.lowerBound + 12] == UInt8(ascii: " ")
            else { throw Malformed() }
            minorVersion = minor
            status = code
            statusLine = (first.lowerBound + 9)..<first.upperBound
            fields.reserveCapacity(12)
            while let line = lines.next(), !line.isEmpty {
                guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else {
                    throw Malformed()
                }
                let name = line.lowerBound..<colon
                let value = Self.trimmed(bytes, (colon + 1)..<line.upperBound)
                let kind = HeaderScan.classify(UnsafeRawBufferPointer(rebasing: bytes[name]))
                found.formUnion(kind)
                if kind.contains(.contentLength) {
                    guard let length = Self.decimal(bytes[value]), contentLength == nil || contentLength == length
                    else { throw Malformed() }
                    contentLength = length
                } else if kind.contains(.transferEncoding) {
                    var last: UnsafeRawBufferPointer?
                    Self.forEachToken(in: bytes, value) { last = $0 }
                    isChunked = last.map { HeaderScan.equalsIgnoringCase($0, "chunked") } ?? false
                } else if kind.contains(.connection) {
                    Self.forEachToken(in: bytes, value) { token in
                        if HeaderScan.equalsIgnoringCase(token, "close") {
                            closes = true
                        } else if HeaderScan.equalsIgnoringCase(token, "keep-alive") {
                            keepsAlive = true
                        } else if !HeaderScan.equalsIgnoringCase(token, "upgrade") {
                            connectionListed.insert(String(decoding: token, as: UTF8.self).lowercased())
                        }
                    }
                }
                fields.append(Field(line: line, name: name, value: value, kind: kind))
            }
        }
        self.minorVersion = minorVersion
        self.status = status
        self.statusLine = statusLine
        self.fields = fields
        self.found = found
        self.contentLength = contentLength
        self.isChunked = isChunked
        self.keepsConnection = minorVersion >= 1 ? !closes : keepsAlive && !closes
        self.connectionListed = connectionListed
    }

    /// Whether the field is one the client must not get from this hop.
    func isHopByHop(_ field: Field, keepingUpgrade: Bool) -> Bool {
        if field.kind.contains(.hopByHop) {
            return !(keepingUpgrade && field.kind.contains(.upgrade))
        }
        guard !connectionListed.isEmpty, !field.kind.contains(.contentLength),
            !field.kind.contains(.transferEncoding)
        else { return false }
        let name = bytes.getString(at: bytes.readerIndex + field.name.lowerBound, length: field.name.count) ?? ""
        return connectionListed.contains(name.lowercased())
    }

    // MARK: Parsing helpers

    /// The lines of a head, without their line ends.
    private struct LineIterator {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        mutating func next() -> Range<Int>? {
            guard index < bytes.count,
                let lineFeed = bytes[index...].firstIndex(of: UInt8(ascii: "\n"))
            else { return nil }
            var end = lineFeed
            if end > index && bytes[end - 1] == UInt8(ascii: "\r") {
                end -= 1
            }
            defer { index = lineFeed + 1 }
            return index..<end
        }
    }

    private static func startsWithHTTP1(_ line: Slice<UnsafeRawBufferPointer>) -> Bool {
        line.starts(with: "HTTP/1.".utf8)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func statusCode(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard let code = decimal(bytes), (100...999).contains(code) else { return nil }
        return code
    }

    /// A non-negative decimal number of at most 18 digits.
    private static func decimal(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard let digit = digit(byte) else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper && (bytes[lower] == UInt8(ascii: " ") || bytes[lower] == UInt8(ascii: "\t")) {
            lower += 1
        }
        while upper > lower && (bytes[upper - 1] == UInt8(ascii: " ") || bytes[upper - 1] == UInt8(ascii: "\t")) {
            upper -= 1
        }
        return lower..<upper
    }

    /// Calls `body` with each comma-separated token of a field value, trimmed of spaces.
    private static func forEachToken(
        in bytes: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = value.lowerBound
        while start < value.upperBound {
            let comma = bytes[start..<value.upperBound].firstIndex(of: UInt8(ascii: ",")) ?? value.upperBound
            let token = trimmed(bytes, start..<comma)
            if !token.isEmpty {
                body(UnsafeRawBufferPointer(rebasing: bytes[token]))
            }
            start = comma + 1
        }
    }
}
