import NIOCore

/// An upstream's response head as it came over the wire, with just enough parsed to forward
/// it: the status, the framing fields and where each field line is. The client gets the same
/// bytes back, minus the hop-by-hop fields (see
/// ``HeaderRewriting/writeClientResponseHead(_:framing:clientVersion:keepAlive:into:)``),
/// instead of a head decoded into strings and encoded again.
///
/// Lenient where nginx is, about line ends only: lines may end with a bare LF (CGI scripts,
/// busybox httpd). Field lines must be well-formed (``HeadFields``).
struct ResponseHead {
    /// The status line is not HTTP/1.x with a three-digit code, or a field line is malformed.
    struct Malformed: Error {}

    /// The head, from the status line up to and including the empty line.
    let bytes: ByteBuffer
    let minorVersion: Int
    let status: Int
    /// The status code and reason phrase (`200 OK`), without the line end.
    let statusLine: Range<Int>
    let fieldsBox: HeadFieldsBox
    var fields: HeadFields { fieldsBox.fields }

    /// Whether the upstream keeps the connection open after this response, by its version and
    /// `Connection` field.
    var keepsConnection: Bool {
        fields.keepsConnection(minorVersion: minorVersion)
    }

    /// Parses a complete head (as delimited by ``HeadLines/endOfHead(in:from:)``), its fields
    /// into the box `boxes` can spare.
    init(_ head: ByteBuffer, boxes: inout ReusableFieldsBox) throws {
        bytes = head
        (minorVersion, status, statusLine, fieldsBox) = try head.withUnsafeReadableBytes { bytes in
            var lines = HeadLines(bytes)
            guard let first = lines.next(), first.count >= 12, bytes.hasBytes("HTTP/1.", at: first.lowerBound),
                let minor = HeadFields.digit(bytes[first.lowerBound + 7]),
                bytes[first.lowerBound + 8] == UInt8(ascii: " "),
                let code = HeadFields.decimal(bytes[(first.lowerBound + 9)..<(first.lowerBound + 12)]),
                code >= 100, first.count == 12 || bytes[first.lowerBound + 12] == UInt8(ascii: " "),
                bytes[first].allSatisfy(HeadFields.isFieldValueCharacter)
            else { throw Malformed() }
            let fields = try HeadFields(bytes, lines: &lines, strict: false)
            return (minor, code, (first.lowerBound + 9)..<first.upperBound, boxes.holding(fields))
        }
    }
}
