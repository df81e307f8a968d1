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

    /// Prepares an upstream's final (non-1xx) response head for the client: drops hop-by-hop
    /// headers, frames the body for the client's HTTP version and announces whether the
    /// connection stays open. Clears `keepAlive` when the body can only be delimited by closing.
    /// Returns how the upstream delimits the body.
    @discardableResult
    static func prepareResponse(
        _ head: inout HTTPResponseHead,
        requestMethod: HTTPMethod,
        clientVersion: HTTPVersion,
        keepAlive: inout Bool
    ) -> ResponseFraming {
        let isUpgrade = head.status == .switchingProtocols
        let scan = HeaderScan(head.headers)
        if scan.contains(.hopByHop) {
            removeHopByHop(from: &head.headers, keepingUpgrade: isUpgrade)
        }
        let clientSpeaksChunked = clientVersion.major == 1 && clientVersion.minor >= 1
        let code = head.status.code
        let isBodiless = requestMethod == .HEAD || code < 200 || code == 204 || code == 304
        let framing: ResponseFraming
        if isBodiless {
            framing = .bodiless
            // The encoder would otherwise write a last-chunk after a body that must not exist.
            if scan.contains(.transferEncoding) {
                head.headers.remove(name: "transfer-encoding")
            }
        } else if scan.contains(.transferEncoding) {
            framing = .chunked
            if scan.contains(.contentLength) {
                // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, which must go.
                head.headers.remove(name: "content-length")
            }
            if !clientSpeaksChunked {
                head.headers.remove(name: "transfer-encoding")
                keepAlive = false
            }
        } else if scan.contains(.contentLength) {
            // Framed by length: passes through as is.
            framing = .length
        } else {
            // The body ends when the upstream closes (CGI, HTTP/1.0 apps): re-framed chunked for
            // the client, or delimited by closing the client connection too.
            framing = .untilClose
            if clientSpeaksChunked {
                head.headers.add(name: "transfer-encoding", value: "chunked")
            } else {
                keepAlive = false
            }
        }
        if isUpgrade {
            // `Connection: upgrade` was kept by `removeHopByHop`.
        } else if !keepAlive {
            head.headers.add(name: "connection", value: "close")
        } else if !clientSpeaksChunked {
            head.headers.add(name: "connection", value: "keep-alive")
        }
        head.version = .http1_1
        return framing
    }

    /// Prepares a 1xx informational head (such as `100 Continue`) for the client.
    static func prepareInformational(_ head: inout HTTPResponseHead) {
        let scan = HeaderScan(head.headers)
        if scan.contains(.hopByHop) {
            removeHopByHop(from: &head.headers, keepingUpgrade: false)
        }
        head.version = .http1_1
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

    /// Classifies a header name case-insensitively, dispatching on its length first so that most
    /// names are dismissed after one comparison.
    private static func classify(_ name: String) -> HeaderScan {
        let utf8 = name.utf8
        switch utf8.count {
        case 2: return equalsIgnoringCase(utf8, "te") ? .hopByHop : []
        case 7:
            if equalsIgnoringCase(utf8, "upgrade") { return [.hopByHop, .upgrade] }
            return equalsIgnoringCase(utf8, "trailer") ? .hopByHop : []
        case 9: return equalsIgnoringCase(utf8, "forwarded") ? .forwarded : []
        case 10:
            return equalsIgnoringCase(utf8, "connection") || equalsIgnoringCase(utf8, "keep-alive") ? .hopByHop : []
        case 12: return equalsIgnoringCase(utf8, "x-request-id") ? .requestID : []
        case 14: return equalsIgnoringCase(utf8, "content-length") ? .contentLength : []
        case 15: return equalsIgnoringCase(utf8, "x-forwarded-for") ? .forwardedFor : []
        case 16:
            if equalsIgnoringCase(utf8, "x-forwarded-host") { return .forwardedHost }
            return equalsIgnoringCase(utf8, "proxy-connection") ? .hopByHop : []
        case 17:
            if equalsIgnoringCase(utf8, "x-forwarded-proto") { return .forwardedProto }
            return equalsIgnoringCase(utf8, "transfer-encoding") ? .transferEncoding : []
        default: return []
        }
    }

    /// Compares `name` with a lowercase ASCII `literal` of the same length, ignoring case.
    private static func equalsIgnoringCase(_ name: String.UTF8View, _ literal: StaticString) -> Bool {
        literal.withUTF8Buffer { expected in
            var index = 0
            for byte in name {
                if byte | 0x20 != expected[index] {
                    return false
                }
                index += 1
            }
            return index == expected.count
        }
    }
}
