#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The header field lines of an HTTP/1.x head, parsed in place: where each name and value is,
/// what kind of field it is, and the few values that decide framing and connection handling.
/// Shared by ``RequestHead`` (strict: the client is untrusted) and ``ResponseHead``.
struct HeadFields {
    /// One header field line: where its name and value are in the head, and what it is.
    struct Field {
        var line: Range<Int>
        var name: Range<Int>
        var value: Range<Int>
        var kind: HeaderScan
    }

    /// The fields could not be parsed, or (strict) break a rule that keeps requests from being
    /// read differently by the proxy and the upstream.
    struct Malformed: Error {}

    private(set) var fields: [Field] = []
    /// Every kind of field found.
    private(set) var found: HeaderScan = []
    /// `Content-Length`, when present (several must agree).
    private(set) var contentLength: Int?
    /// `Transfer-Encoding` ends with `chunked`.
    private(set) var isChunked = false
    /// `Connection` lists `close`, `keep-alive`, `upgrade`.
    private(set) var connectionClose = false
    private(set) var connectionKeepAlive = false
    private(set) var connectionUpgrade = false
    /// Lowercased field names `Connection` lists besides those: hop-by-hop fields of this
    /// connection only. Usually empty.
    private(set) var connectionListed: Set<String> = []
    /// The first `Host` value.
    private(set) var host: Range<Int>?

    /// Parses the field lines that `lines` yields, up to the empty line. Field names must be
    /// tokens with no space before the colon, values free of control characters (so no
    /// obs-fold, no stray CR).
    ///
    /// `strict` (requests) also allows at most one `Host`, one `Content-Length` and one
    /// `Transfer-Encoding`, which must be `chunked` alone and not come with `Content-Length`.
    init(_ bytes: UnsafeRawBufferPointer, lines: inout HeadLines, strict: Bool) throws {
        fields.reserveCapacity(12)
        var transferEncodings = 0
        while let line = lines.next(), !line.isEmpty {
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":"), in: line), colon > line.lowerBound else {
                throw Malformed()
            }
            let name = line.lowerBound..<colon
            let value = Self.trimmed(bytes, (colon + 1)..<line.upperBound)
            guard bytes[name].allSatisfy(Self.isTokenCharacter), bytes[value].allSatisfy(Self.isFieldValueCharacter)
            else { throw Malformed() }
            let kind = HeaderScan.classify(UnsafeRawBufferPointer(rebasing: bytes[name]))
            found.formUnion(kind)
            if kind.contains(.contentLength) {
                // Strict: one Content-Length only (some upstreams refuse even identical repeats).
                guard let length = Self.decimal(bytes[value]),
                    contentLength == nil || (!strict && contentLength == length)
                else { throw Malformed() }
                contentLength = length
            } else if kind.contains(.transferEncoding) {
                transferEncodings += 1
                var last: UnsafeRawBufferPointer?
                var count = 0
                Self.forEachToken(in: bytes, value) {
                    last = $0
                    count += 1
                }
                isChunked = last.map { HeaderScan.equalsIgnoringCase($0, "chunked") } ?? false
                // Strict: exactly `chunked`, nothing around it (`chunked,` included).
                if strict && (count != 1 || !isChunked || bytes[value].count != 7) {
                    throw Malformed()
                }
            } else if kind.contains(.connection) {
                Self.forEachToken(in: bytes, value) { token in
                    if HeaderScan.equalsIgnoringCase(token, "close") {
                        connectionClose = true
                    } else if HeaderScan.equalsIgnoringCase(token, "keep-alive") {
                        connectionKeepAlive = true
                    } else if HeaderScan.equalsIgnoringCase(token, "upgrade") {
                        connectionUpgrade = true
                    } else {
                        connectionListed.insert(String(decoding: token, as: UTF8.self).lowercased())
                    }
                }
            } else if kind.contains(.host) {
                guard host == nil || !strict else { throw Malformed() }
                host = host ?? value
            }
            fields.append(Field(line: line, name: name, value: value, kind: kind))
        }
        if strict && (transferEncodings > 1 || (transferEncodings == 1 && contentLength != nil)) {
            throw Malformed()
        }
    }

    /// Whether the sender keeps the connection open after this message: by default from
    /// HTTP/1.1 on, with `Connection: keep-alive` before.
    func keepsConnection(minorVersion: Int) -> Bool {
        minorVersion >= 1 ? !connectionClose : connectionKeepAlive && !connectionClose
    }

    /// Whether the field is one the next hop must not get: a hop-by-hop field, or one that
    /// `Connection` names (never the framing fields, which the body as forwarded still needs).
    func isHopByHop(_ field: Field, in bytes: UnsafeRawBufferPointer, keepingUpgrade: Bool) -> Bool {
        if field.kind.contains(.hopByHop) {
            return !(keepingUpgrade && field.kind.contains(.upgrade))
        }
        guard !connectionListed.isEmpty, !field.kind.contains(.contentLength),
            !field.kind.contains(.transferEncoding), !field.kind.contains(.host)
        else { return false }
        return connectionListed.contains(String(decoding: bytes[field.name], as: UTF8.self).lowercased())
    }

    // MARK: Character classes and small parsers

    /// RFC 9110 `tchar`.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Visible characters, spaces, tabs and obs-text; no other control character (a stray CR
    /// included).
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    static func digit(_ byte: UInt8) -> Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int(byte - UInt8(ascii: "0")) : nil
    }

    /// A non-negative decimal number of at most 18 digits.
    static func decimal(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
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
            let comma = bytes.firstIndex(of: UInt8(ascii: ","), in: start..<value.upperBound) ?? value.upperBound
            let token = trimmed(bytes, start..<comma)
            if !token.isEmpty {
                body(UnsafeRawBufferPointer(rebasing: bytes[token]))
            }
            start = comma + 1
        }
    }
}

/// The lines of a head, without their line ends (CRLF or a bare LF; ``sawBareLineFeed``
/// tells which).
struct HeadLines {
    let bytes: UnsafeRawBufferPointer
    private(set) var sawBareLineFeed = false
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    mutating func next() -> Range<Int>? {
        guard index < bytes.count,
            let lineFeed = bytes.firstIndex(of: UInt8(ascii: "\n"), in: index..<bytes.count)
        else { return nil }
        var end = lineFeed
        if end > index && bytes[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        } else {
            sawBareLineFeed = true
        }
        defer { index = lineFeed + 1 }
        return index..<end
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
}
