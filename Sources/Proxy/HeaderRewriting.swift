import NIOCore
import NIOHTTP1

/// Who is on the other end of a client connection, worked out once per connection.
struct ClientPeer {
    /// The peer's IP address as text, for `X-Forwarded-For`.
    var address: String
    /// Whether the peer is a configured trusted proxy whose `X-Forwarded-*` are kept.
    var isTrustedProxy: Bool
}

/// What the proxy must know about a request beyond its head.
struct RequestTraits {
    /// The client asks to switch protocols (`Connection: upgrade` and `Upgrade`).
    var isUpgrade: Bool
    /// The request carries a body (`Transfer-Encoding`, or a non-zero `Content-Length`).
    var hasBody: Bool
}

/// The header rewrites of a reverse proxy, done in as few passes over the headers as possible.
enum HeaderRewriting {
    /// Prepares a client's request head for the upstream: drops hop-by-hop headers, sets
    /// `X-Forwarded-*` and `X-Request-Id`, and speaks HTTP/1.1 to the upstream. `Host` is kept.
    /// Returns what the proxy must know about the request's framing and intent.
    static func prepareRequest(
        _ head: inout HTTPRequestHead,
        host: String,
        peer: ClientPeer,
        requestID: () -> String
    ) -> RequestTraits {
        let scan = HeaderScan(head.headers)
        let isUpgrade =
            scan.contains(.upgrade)
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
        let hasBody =
            scan.contains(.transferEncoding)
            || (scan.contains(.contentLength) && head.headers.first(name: "content-length") != "0")
        if scan.contains(.hopByHop) {
            removeHopByHop(from: &head.headers, keepingUpgrade: isUpgrade)
        }
        head.headers.reserveCapacity(head.headers.count + 4)
        if peer.isTrustedProxy {
            let forwardedFor = head.headers[canonicalForm: "x-forwarded-for"]
            if forwardedFor.isEmpty {
                head.headers.add(name: "x-forwarded-for", value: peer.address)
            } else {
                let chain = forwardedFor.joined(separator: ", ") + ", " + peer.address
                head.headers.replaceOrAdd(name: "x-forwarded-for", value: chain)
            }
            if !scan.contains(.forwardedProto) {
                head.headers.add(name: "x-forwarded-proto", value: "http")
            }
            if !scan.contains(.forwardedHost) {
                head.headers.add(name: "x-forwarded-host", value: host)
            }
        } else {
            if !scan.isDisjoint(with: .anyForwarding) {
                for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"] {
                    head.headers.remove(name: name)
                }
            }
            head.headers.add(name: "x-forwarded-for", value: peer.address)
            head.headers.add(name: "x-forwarded-proto", value: "http")
            head.headers.add(name: "x-forwarded-host", value: host)
        }
        if !scan.contains(.requestID) {
            head.headers.add(name: "x-request-id", value: requestID())
        }
        head.version = .http1_1
        return RequestTraits(isUpgrade: isUpgrade, hasBody: hasBody)
    }

    /// Writes an upstream's response head for the client into `out`: the status line as
    /// HTTP/1.1, the field lines as they came minus the hop-by-hop ones, and the framing and
    /// `Connection` fields the client needs. Clears `keepAlive` when the body can only be
    /// delimited by closing. Returns whether the body must be chunked by the proxy (it ends
    /// with the upstream connection and the client speaks HTTP/1.1).
    ///
    /// Informational heads (`100 Continue`) pass with `framing` `.bodiless`.
    @discardableResult
    static func writeClientResponseHead(
        _ head: ResponseHead,
        framing: ResponseFraming,
        clientVersion: HTTPVersion,
        keepAlive: inout Bool,
        into out: inout ByteBuffer
    ) -> Bool {
        let isUpgrade = head.status == 101
        let clientSpeaksChunked = clientVersion.major == 1 && clientVersion.minor >= 1
        var dropTransferEncoding = false
        var dropContentLength = false
        var addsChunked = false
        switch framing {
        case .bodiless:
            // No body may follow, whatever the upstream announced.
            dropTransferEncoding = true
        case .chunked:
            dropContentLength = true
            if !clientSpeaksChunked {
                dropTransferEncoding = true
                keepAlive = false
            }
        case .length:
            break
        case .untilClose:
            if clientSpeaksChunked {
                addsChunked = true
            } else {
                keepAlive = false
            }
        }
        out.reserveCapacity(minimumWritableBytes: head.bytes.readableBytes + 64)
        out.writeStaticString("HTTP/1.1 ")
        writeBytes(of: head, head.statusLine, into: &out)
        out.writeStaticString("\r\n")
        for field in head.fields {
            if head.isHopByHop(field, keepingUpgrade: isUpgrade)
                || (dropTransferEncoding && field.kind.contains(.transferEncoding))
                || (dropContentLength && field.kind.contains(.contentLength))
            {
                continue
            }
            writeBytes(of: head, field.line, into: &out)
            out.writeStaticString("\r\n")
        }
        if addsChunked {
            out.writeStaticString("transfer-encoding: chunked\r\n")
        }
        if isUpgrade {
            out.writeStaticString("connection: upgrade\r\n")
        } else if head.status >= 200 {
            if !keepAlive {
                out.writeStaticString("connection: close\r\n")
            } else if !clientSpeaksChunked {
                out.writeStaticString("connection: keep-alive\r\n")
            }
        }
        out.writeStaticString("\r\n")
        return addsChunked
    }

    private static func writeBytes(of head: ResponseHead, _ range: Range<Int>, into out: inout ByteBuffer) {
        head.bytes.withUnsafeReadableBytes { bytes in
            _ = out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    /// Removes the hop-by-hop headers and those the `Connection` header names. The framing
    /// headers (`Content-Length`, `Transfer-Encoding`) stay: the codecs re-frame the body from
    /// them. With `keepingUpgrade`, `Upgrade` stays and `Connection: upgrade` is set.
    static func removeHopByHop(from headers: inout HTTPHeaders, keepingUpgrade: Bool) {
        for token in headers[canonicalForm: "connection"] {
            let name = token.lowercased()
            if !Self.neverRemovedByConnection.contains(name) {
                headers.remove(name: name)
            }
        }
        for name in Self.hopByHop where !(keepingUpgrade && name == "upgrade") {
            headers.remove(name: name)
        }
        if keepingUpgrade {
            headers.add(name: "connection", value: "upgrade")
        }
    }

    private static let hopByHop = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]
    private static let neverRemovedByConnection: Set<String> = [
        "content-length", "transfer-encoding", "host", "close", "keep-alive", "upgrade",
    ]
}

/// How an upstream delimits a response body.
enum ResponseFraming: Equatable {
    /// No body: a response to HEAD, 1xx, 204 or 304.
    case bodiless
    /// `Content-Length`.
    case length
    /// `Transfer-Encoding: chunked`.
    case chunked
    /// Neither: the body ends when the upstream closes the connection, which therefore cannot
    /// carry another request.
    case untilClose
}

/// The headers one pass over a header list found, among those the rewrites care about.
struct HeaderScan: OptionSet {
    let rawValue: UInt16

    static let hopByHop = HeaderScan(rawValue: 1 << 0)
    static let upgrade = HeaderScan(rawValue: 1 << 1)
    static let forwardedFor = HeaderScan(rawValue: 1 << 2)
    static let forwardedProto = HeaderScan(rawValue: 1 << 3)
    static let forwardedHost = HeaderScan(rawValue: 1 << 4)
    static let forwarded = HeaderScan(rawValue: 1 << 5)
    static let requestID = HeaderScan(rawValue: 1 << 6)
    static let contentLength = HeaderScan(rawValue: 1 << 7)
    static let transferEncoding = HeaderScan(rawValue: 1 << 8)
    static let connection = HeaderScan(rawValue: 1 << 9)

    static let anyForwarding: HeaderScan = [.forwardedFor, .forwardedProto, .forwardedHost, .forwarded]

    init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// Scans `headers` once.
    init(_ headers: HTTPHeaders) {
        var found: HeaderScan = []
        for (name, _) in headers {
            found.formUnion(Self.classify(name))
        }
        self = found
    }

    /// Classifies a header name case-insensitively.
    static func classify(_ name: String) -> HeaderScan {
        var name = name
        return name.withUTF8 { classify(UnsafeRawBufferPointer($0)) }
    }

    /// Classifies a header name given as bytes case-insensitively, dispatching on its length
    /// first so that most names are dismissed after one comparison.
    static func classify(_ name: UnsafeRawBufferPointer) -> HeaderScan {
        switch name.count {
        case 2: return equalsIgnoringCase(name, "te") ? .hopByHop : []
        case 7:
            if equalsIgnoringCase(name, "upgrade") { return [.hopByHop, .upgrade] }
            return equalsIgnoringCase(name, "trailer") ? .hopByHop : []
        case 9: return equalsIgnoringCase(name, "forwarded") ? .forwarded : []
        case 10:
            if equalsIgnoringCase(name, "connection") { return [.hopByHop, .connection] }
            return equalsIgnoringCase(name, "keep-alive") ? .hopByHop : []
        case 12: return equalsIgnoringCase(name, "x-request-id") ? .requestID : []
        case 14: return equalsIgnoringCase(name, "content-length") ? .contentLength : []
        case 15: return equalsIgnoringCase(name, "x-forwarded-for") ? .forwardedFor : []
        case 16:
            if equalsIgnoringCase(name, "x-forwarded-host") { return .forwardedHost }
            return equalsIgnoringCase(name, "proxy-connection") ? .hopByHop : []
        case 17:
            if equalsIgnoringCase(name, "x-forwarded-proto") { return .forwardedProto }
            return equalsIgnoringCase(name, "transfer-encoding") ? .transferEncoding : []
        default: return []
        }
    }

    /// Compares `bytes` with a lowercase ASCII `literal`, ignoring case.
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { expected in
            guard bytes.count == expected.count else { return false }
            for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] {
                return false
            }
            return true
        }
    }
}
