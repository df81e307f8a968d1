import NIOCore
import NIOHTTP1

/// A client's request head as it came over the wire, parsed in place and strictly: the
/// proxy and the upstream must never disagree on where a request ends (request smuggling),
/// so anything ambiguous is refused (see ``HeadFields``). The upstream gets the same bytes,
/// minus the hop-by-hop fields, plus `X-Forwarded-*` and `X-Request-Id` (see
/// ``HeaderRewriting/writeUpstreamRequestHead(_:peer:requestID:into:)``).
struct RequestHead {
    /// The request line is not `METHOD target HTTP/1.x`, a line ends with a bare LF, or the
    /// fields break a rule of ``HeadFields``.
    struct Malformed: Error {}

    /// The head, from the request line up to and including the empty line.
    let bytes: ByteBuffer
    let method: HTTPMethod
    /// The method and the request target (`GET /path?query`), as the upstream gets them.
    let methodAndTarget: Range<Int>
    let target: Range<Int>
    /// For an absolute-form target (`http://host/path?query`), the part after the authority:
    /// what the upstream gets as its target (after a `/` when its path is empty).
    let pathOfAbsoluteTarget: Range<Int>?
    let version: HTTPVersion
    let fieldsBox: HeadFieldsBox
    var fields: HeadFields { fieldsBox.fields }

    /// Whether the client keeps the connection open after this exchange.
    var keepAlive: Bool {
        fields.keepsConnection(minorVersion: version.minor)
    }

    /// The client asks to switch protocols (`Connection: upgrade` and `Upgrade`).
    var isUpgrade: Bool {
        fields.connectionUpgrade && fields.found.contains(.upgrade)
    }

    /// Whether a body follows the head.
    var hasBody: Bool {
        fields.isChunked || (fields.contentLength ?? 0) > 0
    }

    /// The request target as text, for the access log.
    var targetString: String {
        string(target)
    }

    /// The same URL over HTTPS on `port` for `host` (its routing key: without a port), with
    /// the target's path and query.
    func httpsLocation(host: String, port: Int) -> String {
        let path = pathOfAbsoluteTarget.map(string) ?? targetString
        return "https://\(host)\(port == 443 ? "" : ":\(port)")"
            + (path.hasPrefix("/") ? path : "/" + (path == "*" ? "" : path))
    }

    /// The first valid `X-Request-Id` value, if any (see ``HeadFields/isValidRequestID(_:)``).
    var requestID: String? {
        fields.requestID.map { string($0) }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.getString(at: bytes.readerIndex + range.lowerBound, length: range.count) ?? ""
    }

    /// Parses a complete head (as delimited by ``HeadLines/endOfHead(in:from:)``), its fields
    /// into the box `boxes` can spare.
    init(_ head: ByteBuffer, boxes: inout ReusableFieldsBox) throws {
        bytes = head
        (method, methodAndTarget, target, pathOfAbsoluteTarget, version, fieldsBox) = try head.withUnsafeReadableBytes {
            bytes in
            var lines = HeadLines(bytes)
            guard let line = lines.next(),
                let methodEnd = bytes.firstIndex(of: UInt8(ascii: " "), in: line), methodEnd > line.lowerBound,
                bytes[line.lowerBound..<methodEnd].allSatisfy(HeadFields.isTokenCharacter),
                line.count >= 10, bytes.hasBytes(" HTTP/1.", at: line.upperBound - 9),
                let minor = HeadFields.digit(bytes[line.upperBound - 1])
            else { throw Malformed() }
            // `GET HTTP/1.1` has no target: the method's space is the version's.
            guard methodEnd + 1 < line.upperBound - 9 else { throw Malformed() }
            let target = (methodEnd + 1)..<(line.upperBound - 9)
            guard bytes[target].allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { throw Malformed() }
            let fields = try HeadFields(bytes, lines: &lines, strict: true)
            // HTTP/1.0 knows no chunked requests: a body framed so is read differently by some.
            guard !lines.sawBareLineFeed, minor >= 1 || !fields.found.contains(.transferEncoding) else {
                throw Malformed()
            }
            let method = Self.method(bytes, line.lowerBound..<methodEnd)
            let path = try Self.pathOfAbsoluteTarget(bytes, target, host: fields.host)
            return (
                method, line.lowerBound..<target.upperBound, target, path, HTTPVersion(major: 1, minor: minor),
                boxes.holding(fields)
            )
        }
    }

    /// The path and query of an absolute-form target (`http://host/path?query`), which the
    /// upstream gets as an origin-form target; nil for an origin-form target (`/path`) or `*`.
    /// RFC 9112 §3.2.2 has a server take the target's authority over `Host`; the proxy routes
    /// by `Host` and the app reads `Host`, so a target naming another host is refused rather
    /// than let the two differ. So is every other form (`ws://other/`, `http:\\other/`, a
    /// CONNECT authority): servers read a host out of some of them too.
    private static func pathOfAbsoluteTarget(
        _ bytes: UnsafeRawBufferPointer, _ target: Range<Int>, host: Range<Int>?
    ) throws -> Range<Int>? {
        guard bytes[target.lowerBound] != UInt8(ascii: "/") else { return nil }  // origin-form
        let authorityStart: Int
        if hasPrefixIgnoringCase(bytes, target, "http://") {
            authorityStart = target.lowerBound + 7
        } else if hasPrefixIgnoringCase(bytes, target, "https://") {
            authorityStart = target.lowerBound + 8
        } else if target.count == 1, bytes[target.lowerBound] == UInt8(ascii: "*") {
            return nil  // asterisk-form, `OPTIONS * HTTP/1.1`
        } else {
            throw Malformed()
        }
        let authorityEnd =
            bytes[authorityStart..<target.upperBound].firstIndex {
                $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?")
            } ?? target.upperBound
        guard let host, host.count == authorityEnd - authorityStart,
            zip(bytes[host], bytes[authorityStart..<authorityEnd]).allSatisfy({ lowercased($0) == lowercased($1) })
        else { throw Malformed() }
        return authorityEnd..<target.upperBound
    }

    private static func hasPrefixIgnoringCase(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ prefix: StaticString
    ) -> Bool {
        let count = prefix.utf8CodeUnitCount
        return range.count > count
            && HeaderScan.equalsIgnoringCase(
                UnsafeRawBufferPointer(rebasing: bytes[range.lowerBound..<(range.lowerBound + count)]), prefix)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    private static func method(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> HTTPMethod {
        let at = name.lowerBound
        switch name.count {
        case 3 where bytes.hasBytes("GET", at: at): return .GET
        case 3 where bytes.hasBytes("PUT", at: at): return .PUT
        case 4 where bytes.hasBytes("POST", at: at): return .POST
        case 4 where bytes.hasBytes("HEAD", at: at): return .HEAD
        case 5 where bytes.hasBytes("PATCH", at: at): return .PATCH
        case 6 where bytes.hasBytes("DELETE", at: at): return .DELETE
        case 7 where bytes.hasBytes("OPTIONS", at: at): return .OPTIONS
        case 7 where bytes.hasBytes("CONNECT", at: at): return .CONNECT
        case 5 where bytes.hasBytes("TRACE", at: at): return .TRACE
        default: return .RAW(value: String(decoding: bytes[name], as: UTF8.self))
        }
    }
}
