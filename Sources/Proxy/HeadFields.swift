/// The header field lines of an HTTP/1.x head, parsed in place: where the fields a proxy may
/// drop or act on are, and the few values that decide framing and connection handling.
/// Shared by ``RequestHead`` (strict: the client is untrusted) and ``ResponseHead``.
///
/// Costs no allocation for a usual head: only the *notable* fields (any kind but `Host` and
/// plain ones) are remembered, inline, and the rewriting copies the lines around the ones it
/// drops in runs (``write(from:leadingFrom:into:keep:)``).
struct HeadFields {
    /// One header field line: where it is in the head, and what it is.
    struct Field {
        /// The line, without its line end.
        var line: Range<Int>
        /// Where the next line starts.
        var next: Int
        var name: Range<Int>
        var value: Range<Int>
        var kind: HeaderScan
    }

    /// The fields could not be parsed, or (strict) break a rule that keeps requests from being
    /// read differently by the proxy and the upstream.
    struct Malformed: Error {}

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
    /// The first valid `X-Request-Id` value (see ``isValidRequestID(_:)``).
    private(set) var requestID: Range<Int>?

    /// A notable field, compactly: heads are passed around by value.
    private struct Notable {
        var start: UInt32
        var colon: UInt32
        var lineEnd: UInt32
        var next: UInt32
        var kind: HeaderScan

        static let none = Notable(start: 0, colon: 0, lineEnd: 0, next: 0, kind: [])
    }

    /// Where the first field line starts, and where the empty line does.
    private let start: Int
    private var end: Int
    /// The notable fields, in order; a head with more than fit is walked line by line.
    /// Eight: a request through nginx or a load balancer carries several that pass (its
    /// `X-Forwarded-*`, `X-Real-IP`) besides the framing and `Connection` fields.
    private var notable = InlineArray<8, Notable>(repeating: .none)
    private var notableCount = 0
    /// The field lines cannot be copied in runs: a line ends with a bare LF, `Connection`
    /// names other fields, or there are more notable fields than kept inline.
    private var walksEveryLine = false

    /// Parses the field lines that `lines` yields, up to the empty line. Field names must be
    /// tokens with no space before the colon, values free of control characters (so no
    /// obs-fold, no stray CR).
    ///
    /// `strict` (requests) also allows at most one `Host`, which must be a host (see
    /// ``isValidHost(_:)``), one `Content-Length` and one `Transfer-Encoding`, which must be
    /// `chunked` alone and not come with `Content-Length`.
    init(_ bytes: UnsafeRawBufferPointer, lines: inout HeadLines, strict: Bool) throws {
        start = lines.position
        end = start
        var transferEncodings = 0
        while let line = lines.next() {
            guard !line.isEmpty else { break }
            guard let field = Self.field(bytes, line: line, next: lines.position) else { throw Malformed() }
            let value = field.value
            let kind = field.kind
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
                guard !strict || (host == nil && Self.isValidHost(bytes[value])) else { throw Malformed() }
                host = host ?? value
            } else if kind.contains(.requestID), requestID == nil, Self.isValidRequestID(bytes[value]) {
                requestID = value
            }
            if !kind.isEmpty && kind != .host {
                if notableCount < notable.count {
                    notable[notableCount] = Notable(
                        start: UInt32(line.lowerBound), colon: UInt32(field.name.upperBound),
                        lineEnd: UInt32(line.upperBound), next: UInt32(lines.position), kind: kind
                    )
                    notableCount += 1
                } else {
                    walksEveryLine = true
                }
            }
            end = lines.position
        }
        if strict && (transferEncodings > 1 || (transferEncodings == 1 && contentLength != nil)) {
            throw Malformed()
        }
        walksEveryLine = walksEveryLine || lines.sawBareLineFeed || !connectionListed.isEmpty
    }

    /// Whether a client's `X-Request-Id` is kept: 1 to 200 letters, digits and `-_.:+/=@`
    /// (UUIDs, base64, most tracing ids). Another is replaced by a new one, so that what the
    /// access log and the app get is one short token, never text that could pass for more
    /// fields of the log line.
    static func isValidRequestID(_ value: UnsafeRawBufferPointer.SubSequence) -> Bool {
        (1...200).contains(value.count)
            && value.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                    UInt8(ascii: ":"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "@"):
                    true
                default: false
                }
            }
    }

    /// Whether a request's `Host` is a host name, an IPv4 or a bracketed IPv6 address, with
    /// an optional port of digits (or empty, as HTTP/1.1 allows). A `/`, `@`, `\\` or space
    /// would route by one part and reach the app, and its links (`X-Forwarded-Host`), whole.
    static func isValidHost(_ value: UnsafeRawBufferPointer.SubSequence) -> Bool {
        var name = value[...]
        if name.first == UInt8(ascii: "[") {
            guard let close = name.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let address = name[(name.startIndex + 1)..<close]
            guard !address.isEmpty,
                address.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return false }
            name = name[(close + 1)...]
        } else {
            let colon = name.firstIndex(of: UInt8(ascii: ":")) ?? name.endIndex
            guard
                name[..<colon].allSatisfy({ byte in
                    isHexDigit(byte) || (UInt8(ascii: "g")...UInt8(ascii: "z")).contains(byte | 0x20)
                        || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                })
            else { return false }
            name = name[colon...]
        }
        guard let colon = name.first else { return true }
        return colon == UInt8(ascii: ":") && name.count <= 6
            && name.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20)
    }

    /// Whether the sender keeps the connection open after this message: by default from
    /// HTTP/1.1 on, with `Connection: keep-alive` before.
    func keepsConnection(minorVersion: Int) -> Bool {
        minorVersion >= 1 ? !connectionClose : connectionKeepAlive && !connectionClose
    }

    /// Whether the field lines can be copied as they came, in runs: every line ends with
    /// CRLF, `Connection` names no other field, and the notable fields were all kept inline.
    var copiesRuns: Bool { !walksEveryLine }

    /// Writes the field lines to `out`, without those `keep` refuses. `keep` sees the fields
    /// the rewriting may drop or act on, in order; the lines between them are copied in runs,
    /// kept fields included. When the lines cannot be copied as they came (see
    /// ``copiesRuns``), `keep` sees every field, those `Connection` names marked
    /// ``HeaderScan/listedInConnection``, and kept lines are written with CRLF.
    ///
    /// `leadingFrom`: where the first run starts when ``copiesRuns`` (the lines before the
    /// fields, such as a status line that passes as it is); ignored otherwise.
    func write(
        from bytes: UnsafeRawBufferPointer,
        leadingFrom: Int? = nil,
        into out: inout HeadWriter,
        keep: (Field) -> Bool
    ) {
        guard copiesRuns else {
            var lines = HeadLines(bytes, from: start)
            while let line = lines.next(), !line.isEmpty {
                guard var field = Self.field(bytes, line: line, next: lines.position) else { continue }
                if !connectionListed.isEmpty, field.kind.isDisjoint(with: [.contentLength, .transferEncoding, .host]),
                    connectionListed.contains(String(decoding: bytes[field.name], as: UTF8.self).lowercased())
                {
                    field.kind.insert(.listedInConnection)
                }
                if keep(field) {
                    out.write(bytes, field.line)
                    out.write("\r\n")
                }
            }
            return
        }
        var runStart = leadingFrom ?? start
        for index in 0..<notableCount {
            let found = notable[index]
            let line = Int(found.start)..<Int(found.lineEnd)
            let colon = Int(found.colon)
            let value = Self.trimmed(bytes, (colon + 1)..<line.upperBound)
            let field = Field(
                line: line, next: Int(found.next), name: line.lowerBound..<colon, value: value, kind: found.kind)
            if !keep(field) {
                if runStart < line.lowerBound {
                    out.write(bytes, runStart..<line.lowerBound)
                }
                runStart = field.next
            }
        }
        if runStart < end {
            out.write(bytes, runStart..<end)
        }
    }

    /// Whether the next hop must not get the field: a hop-by-hop field, or one that
    /// `Connection` names (never the framing fields, which the body as forwarded still needs).
    static func isHopByHop(_ field: Field, keepingUpgrade: Bool) -> Bool {
        if field.kind.contains(.hopByHop) {
            return !(keepingUpgrade && field.kind.contains(.upgrade))
        }
        return field.kind.contains(.listedInConnection)
    }

    /// Parses one field line: a token name right before the colon, a value of field
    /// characters (trimmed); nil when malformed.
    private static func field(_ bytes: UnsafeRawBufferPointer, line: Range<Int>, next: Int) -> Field? {
        // Names are short: one pass finds the colon and checks the name's characters.
        var colon = line.lowerBound
        while colon < line.upperBound && bytes[colon] != UInt8(ascii: ":") {
            guard isTokenCharacter(bytes[colon]) else { return nil }
            colon += 1
        }
        guard colon < line.upperBound, colon > line.lowerBound else { return nil }
        let name = line.lowerBound..<colon
        let value = trimmed(bytes, (colon + 1)..<line.upperBound)
        guard areFieldValueCharacters(UnsafeRawBufferPointer(rebasing: bytes[value])) else { return nil }
        let kind = HeaderScan.classify(UnsafeRawBufferPointer(rebasing: bytes[name]))
        return Field(line: line, next: next, name: name, value: value, kind: kind)
    }

    // MARK: Character classes and small parsers

    /// RFC 9110 `tchar`: letters, digits and ``!#$%&'*+-.^_`|~``, looked up in a bitmap.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case 0..<64: (0x03FF_6CFA_0000_0000 as UInt64) >> byte & 1 == 1
        case 64..<128: (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (byte - 64) & 1 == 1
        default: false
        }
    }

    /// Visible characters, spaces, tabs and obs-text; no other control character (a stray CR
    /// included).
    static func isFieldValueCharacter(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// Whether all of `bytes` are ``isFieldValueCharacter(_:)``; one pass without early exit,
    /// which the compiler vectorizes.
    static func areFieldValueCharacters(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var invalid: UInt8 = 0
        for byte in bytes {
            invalid |= isFieldValueCharacter(byte) ? 0 : 1
        }
        return invalid == 0
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

/// ``HeadFields`` in a box: a head passes through several layers of events, and a reference
/// moves for less than the fields' positions do.
final class HeadFieldsBox {
    fileprivate(set) var fields: HeadFields

    init(_ fields: HeadFields) {
        self.fields = fields
    }
}

/// A reader's ``HeadFieldsBox``, refilled for each head once nothing holds the previous one
/// (it was handled as it was read, as it is unless requests are pipelined), so that parsing a
/// head allocates nothing; while a queued head still holds it, a new box is made.
struct ReusableFieldsBox {
    private var box: HeadFieldsBox?

    /// A box holding `fields`: the kept one when nobody else holds it, a new one otherwise.
    mutating func holding(_ fields: HeadFields) -> HeadFieldsBox {
        if isKnownUniquelyReferenced(&box), let box {
            box.fields = fields
            return box
        }
        let fresh = HeadFieldsBox(fields)
        box = fresh
        return fresh
    }
}
