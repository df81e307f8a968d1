import NIOCore
import NIOHTTP1

/// Who is on the other end of a client connection, worked out once per connection.
struct ClientPeer {
    /// The peer's IP address as text, for `X-Forwarded-For`.
    let address: String
    /// Whether the peer is a configured trusted proxy whose `X-Forwarded-*` are kept.
    let isTrustedProxy: Bool
    /// `X-Forwarded-Proto` and `X-Forwarded-Port` of this connection, ready to copy.
    let schemeAndPortFields: ByteBuffer
    /// `X-Forwarded-For`, `-Proto` and `-Port` as most requests get them, ready to copy.
    let forwardedFields: ByteBuffer

    /// - Parameters:
    ///   - isTLS: whether the client came over the HTTPS listener.
    ///   - port: the proxy's port the client connected to.
    init(address: String, isTrustedProxy: Bool, isTLS: Bool = false, port: Int? = nil) {
        self.address = address
        self.isTrustedProxy = isTrustedProxy
        var schemeAndPort = "x-forwarded-proto: \(isTLS ? "https" : "http")\r\n"
        if let port {
            schemeAndPort += "x-forwarded-port: \(port)\r\n"
        }
        schemeAndPortFields = ByteBuffer(string: schemeAndPort)
        forwardedFields = ByteBuffer(string: "x-forwarded-for: \(address)\r\n" + schemeAndPort)
    }
}

/// The header rewrites of a reverse proxy, done while copying a head's bytes once.
enum HeaderRewriting {
    /// Writes a client's request head for the upstream into `out`: the request line as
    /// HTTP/1.1, the field lines as they came minus the hop-by-hop ones, `X-Forwarded-*`
    /// (kept and appended to only from a trusted proxy) and one `X-Request-Id` (the client's
    /// when it is a valid one, see ``HeadFields/isValidRequestID(_:)``).
    /// `Host` and the framing fields pass unchanged. Returns the request id it added, if any.
    @discardableResult
    static func writeUpstreamRequestHead(
        _ head: RequestHead,
        peer: ClientPeer,
        requestID: () -> RequestID,
        into out: inout ByteBuffer
    ) -> RequestID? {
        let fields = head.fields
        let trusted = peer.isTrustedProxy
        let isUpgrade = head.isUpgrade
        var forwardedFor: [Range<Int>] = []
        // What reaches the upstream: a field named in `Connection` is gone, and is added anew.
        var kept: HeaderScan = []
        var added: RequestID?
        // Every piece comes from the head (the host twice) or is one of a few short lines.
        let maxBytes = 2 * head.bytes.readableBytes + peer.forwardedFields.readableBytes + 160
        HeadWriter.write(into: &out, maxBytes: maxBytes) { out in
            head.bytes.withUnsafeReadableBytes { bytes in
                if let path = head.pathOfAbsoluteTarget {
                    out.write(bytes, head.methodAndTarget.lowerBound..<head.target.lowerBound)
                    if path.isEmpty || bytes[path.lowerBound] != UInt8(ascii: "/") {
                        out.write("/")  // `http://host` and `http://host?query` have an empty path
                    }
                    out.write(bytes, path)
                } else {
                    out.write(bytes, head.methodAndTarget)
                }
                out.write(" HTTP/1.1\r\n")
                fields.write(from: bytes, into: &out) { field in
                    // The client's X-Request-Id, if it is one, is written once below.
                    if HeadFields.isHopByHop(field, keepingUpgrade: isUpgrade)
                        || !field.kind.isDisjoint(with: [.lookalike, .requestID])
                    {
                        return false
                    }
                    if !field.kind.isDisjoint(with: .anyForwarding) {
                        guard trusted else { return false }
                        if field.kind.contains(.forwardedFor) {
                            if !field.value.isEmpty { forwardedFor.append(field.value) }
                            return false
                        }
                    }
                    kept.formUnion(field.kind)
                    return true
                }
                if isUpgrade {
                    out.write("connection: upgrade\r\n")
                }
                // The scheme and port are this connection's unless a trusted proxy in front
                // named either: then both are its.
                let schemeIsOurs = kept.isDisjoint(with: [.forwardedProto, .forwardedPort])
                if forwardedFor.isEmpty && schemeIsOurs {
                    out.write(peer.forwardedFields)
                } else {
                    out.write("x-forwarded-for: ")
                    for value in forwardedFor {
                        out.write(bytes, value)
                        out.write(", ")
                    }
                    out.write(peer.address)
                    out.write("\r\n")
                    if schemeIsOurs {
                        out.write(peer.schemeAndPortFields)
                    }
                }
                if !kept.contains(.forwardedHost), let host = fields.host {
                    out.write("x-forwarded-host: ")
                    out.write(bytes, host)
                    out.write("\r\n")
                }
                out.write("x-request-id: ")
                if let id = fields.requestID {
                    out.write(bytes, id)
                } else {
                    let id = requestID()
                    id.write(into: &out)
                    added = id
                }
                out.write("\r\n")
            }
            out.write("\r\n")
        }
        return added
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
            // No body may follow, whatever the upstream announced; a 1xx or 204 has no length
            // either (RFC 9110 §8.6), while HEAD's and 304's is the representation's.
            dropTransferEncoding = true
            dropContentLength = head.status < 200 || head.status == 204
        case .chunked:
            dropContentLength = true
            if !clientSpeaksChunked {
                dropTransferEncoding = true
                keepAlive = false
            }
        case .length:
            break
        case .untilClose where head.fields.found.contains(.transferEncoding):
            // A transfer coding not ending with chunked (`gzip`): passed on as it came, ended by
            // the close; chunking it would apply chunked twice (RFC 9112 §6.1). HTTP/1.0 has no
            // transfer codings: its clients get the bytes without the field.
            dropContentLength = true
            dropTransferEncoding = !clientSpeaksChunked
            keepAlive = false
        case .untilClose:
            if clientSpeaksChunked {
                // A length next to the proxy's chunks would contradict them.
                addsChunked = true
                dropContentLength = true
            } else {
                keepAlive = false
            }
        }
        // `HTTP/1.1 200 OK` with CRLF passes as it is, in the first run of field lines.
        let passesStatusLine = head.minorVersion == 1 && head.statusLine.count > 3 && head.fields.copiesRuns
        let keepAlive = keepAlive
        // Lines that came with a bare LF leave with CRLF: at most one more byte per line of at
        // least three (`a:` and its LF), so twice the head is room enough.
        HeadWriter.write(into: &out, maxBytes: 2 * head.bytes.readableBytes + 96) { out in
            head.bytes.withUnsafeReadableBytes { bytes in
                if !passesStatusLine {
                    out.write("HTTP/1.1 ")
                    out.write(bytes, head.statusLine)
                    if head.statusLine.count == 3 {
                        out.write(" ")  // `HTTP/1.1 200` needs the space before an empty reason
                    }
                    out.write("\r\n")
                }
                // Repeats of the same length pass as one: browsers refuse several.
                var lengthWritten = false
                head.fields.write(from: bytes, leadingFrom: passesStatusLine ? 0 : nil, into: &out) { field in
                    if field.kind.contains(.contentLength) {
                        defer { lengthWritten = true }
                        return !(dropContentLength || lengthWritten)
                    }
                    return
                        !(HeadFields.isHopByHop(field, keepingUpgrade: isUpgrade)
                        || (dropTransferEncoding && field.kind.contains(.transferEncoding)))
                }
            }
            if addsChunked {
                out.write("transfer-encoding: chunked\r\n")
            }
            if isUpgrade {
                out.write("connection: upgrade\r\n")
            } else if head.status >= 200 {
                if !keepAlive {
                    out.write("connection: close\r\n")
                } else if !clientSpeaksChunked {
                    out.write("connection: keep-alive\r\n")
                }
            }
            out.write("\r\n")
        }
        return addsChunked
    }
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

/// The kinds of header fields the proxy cares about, found by name.
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
    static let host = HeaderScan(rawValue: 1 << 10)
    /// Named in the head's `Connection` field (set by ``HeadFields/write(from:leadingFrom:into:keep:)``).
    static let listedInConnection = HeaderScan(rawValue: 1 << 11)
    /// `X_Forwarded_For` and the like: a name the proxy sets, with `_` for `-`. CGI, WSGI and
    /// Rack fold both to the same variable (`HTTP_X_FORWARDED_FOR`), so the proxy drops these
    /// from requests, from trusted proxies too.
    static let lookalike = HeaderScan(rawValue: 1 << 12)
    /// More of what a proxy in front says about the connection, which frameworks read: the
    /// client's address (`X-Real-IP`, `Client-IP`, which Rails reads, `X-Client-IP`,
    /// `X-Cluster-Client-IP`, `True-Client-IP`, `CF-Connecting-IP`), the scheme
    /// (`X-Forwarded-Ssl`, which Rack takes for https when `on`, `X-Forwarded-Scheme`,
    /// `X-Forwarded-Protocol`, which gunicorn reads, `Front-End-Https`, `X-Url-Scheme`), the
    /// path prefix (`X-Forwarded-Prefix`). Only a trusted proxy's pass.
    static let forwardedOther = HeaderScan(rawValue: 1 << 13)
    static let forwardedPort = HeaderScan(rawValue: 1 << 14)

    static let anyForwarding: HeaderScan = [
        .forwardedFor, .forwardedProto, .forwardedHost, .forwarded, .forwardedOther, .forwardedPort,
    ]

    /// Classifies a header name given as bytes case-insensitively, dispatching on its length
    /// first so that most names are dismissed after a few comparisons of their first byte
    /// (each candidate name, and its `_` lookalike).
    static func classify(_ name: UnsafeRawBufferPointer) -> HeaderScan {
        switch name.count {
        case 2: return equalsIgnoringCase(name, "te") ? .hopByHop : []
        case 4: return equalsIgnoringCase(name, "host") ? .host : []
        case 7:
            if equalsIgnoringCase(name, "upgrade") { return [.hopByHop, .upgrade] }
            return equalsIgnoringCase(name, "trailer") ? .hopByHop : []
        case 9:
            if equalsIgnoringCase(name, "forwarded") { return .forwarded }
            return classify(name, as: "x-real-ip", .forwardedOther)
                .orElse { classify(name, as: "client-ip", .forwardedOther) }
        case 10:
            if equalsIgnoringCase(name, "connection") { return [.hopByHop, .connection] }
            return equalsIgnoringCase(name, "keep-alive") ? .hopByHop : []
        case 11: return classify(name, as: "x-client-ip", .forwardedOther)
        case 12:
            return classify(name, as: "x-request-id", .requestID)
                .orElse { classify(name, as: "x-url-scheme", .forwardedOther) }
        case 14:
            return classify(name, as: "content-length", .contentLength)
                .orElse { classify(name, as: "true-client-ip", .forwardedOther) }
        case 15:
            return classify(name, as: "x-forwarded-for", .forwardedFor)
                .orElse { classify(name, as: "x-forwarded-ssl", .forwardedOther) }
                .orElse { classify(name, as: "front-end-https", .forwardedOther) }
        case 16:
            if equalsIgnoringCase(name, "proxy-connection") { return .hopByHop }
            return classify(name, as: "x-forwarded-host", .forwardedHost)
                .orElse { classify(name, as: "x-forwarded-port", .forwardedPort) }
                .orElse { classify(name, as: "cf-connecting-ip", .forwardedOther) }
        case 17:
            return classify(name, as: "transfer-encoding", .transferEncoding)
                .orElse { classify(name, as: "x-forwarded-proto", .forwardedProto) }
        case 18:
            return classify(name, as: "x-forwarded-scheme", .forwardedOther)
                .orElse { classify(name, as: "x-forwarded-prefix", .forwardedOther) }
        case 19: return classify(name, as: "x-cluster-client-ip", .forwardedOther)
        case 20: return classify(name, as: "x-forwarded-protocol", .forwardedOther)
        default: return []
        }
    }

    /// `kind` when `name` is `literal`, ``lookalike`` when it is with `_` for `-`.
    private static func classify(_ name: UnsafeRawBufferPointer, as literal: StaticString, _ kind: HeaderScan)
        -> HeaderScan
    {
        if equalsIgnoringCase(name, literal) { return kind }
        return equalsIgnoringCase(name, literal, underscoresAsDashes: true) ? .lookalike : []
    }

    /// This classification, or when it found nothing, `next`'s.
    private func orElse(_ next: () -> HeaderScan) -> HeaderScan {
        isEmpty ? next() : self
    }

    /// Compares `bytes` with a lowercase ASCII `literal`, ignoring case, and reading `_` as
    /// `-` when `underscoresAsDashes`.
    static func equalsIgnoringCase(
        _ bytes: UnsafeRawBufferPointer, _ literal: StaticString, underscoresAsDashes: Bool = false
    ) -> Bool {
        literal.withUTF8Buffer { expected in
            guard bytes.count == expected.count else { return false }
            for index in 0..<bytes.count where bytes[index] | 0x20 != expected[index] {
                guard underscoresAsDashes, bytes[index] == UInt8(ascii: "_"), expected[index] == UInt8(ascii: "-")
                else { return false }
            }
            return true
        }
    }
}
