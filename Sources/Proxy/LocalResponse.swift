import NIOCore
import NIOHTTP1

/// The answers the proxy gives itself. Short plain-text pages that name no app, upstream or
/// internal detail.
enum LocalResponse {
    /// No route for this host.
    case notFound
    /// The request could not be parsed, or had no `Host`.
    case badRequest
    /// The request head exceeded ``ProxyConfiguration/maxHeaderBytes``.
    case headerFieldsTooLarge
    /// The upstream refused, reset or broke the connection.
    case badGateway
    /// The app exists but has no healthy instance right now.
    case serviceUnavailable
    /// The app is in maintenance mode.
    case maintenance
    /// Plain HTTP came to the HTTPS port.
    case plainHTTPOnHTTPSPort
    /// The upstream did not connect or answer in time.
    case gatewayTimeout
    /// The client sent its request body too slowly.
    case requestTimeout
    /// Plain HTTP for an app served over HTTPS: the same URL with `https`
    /// (``ProxyConfiguration/TLS/redirectsHTTP``). 308 keeps the method and body.
    case redirectToHTTPS(location: String)

    var status: HTTPResponseStatus {
        switch self {
        case .notFound: .notFound
        case .badRequest, .plainHTTPOnHTTPSPort: .badRequest
        case .headerFieldsTooLarge: .requestHeaderFieldsTooLarge
        case .badGateway: .badGateway
        case .serviceUnavailable, .maintenance: .serviceUnavailable
        case .gatewayTimeout: .gatewayTimeout
        case .requestTimeout: .requestTimeout
        case .redirectToHTTPS: .permanentRedirect
        }
    }

    var text: String {
        switch self {
        case .notFound: "no app here\n"
        case .badRequest: "bad request\n"
        case .headerFieldsTooLarge: "request header fields too large\n"
        case .badGateway: "bad gateway: the app did not answer properly\n"
        case .serviceUnavailable: "service unavailable: the app is starting or stopped, retry soon\n"
        case .maintenance: "down for maintenance: back soon\n"
        case .plainHTTPOnHTTPSPort: "plain HTTP was sent to the HTTPS port: use an https:// URL\n"
        case .gatewayTimeout: "gateway timeout: the app did not answer in time\n"
        case .requestTimeout: "request timeout: the request body came too slowly\n"
        case .redirectToHTTPS(let location): "moved to \(location)\n"
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After` with 503s.
    static let retryAfterSeconds = "5"

    /// The whole response: the head, then the text unless it answers a HEAD request (whose
    /// answer has the length of the body it does not carry). `Connection: close` unless
    /// `keepAlive`; an HTTP/1.0 client that keeps the connection is told so, as it expects.
    func bytes(keepAlive: Bool, clientVersion: HTTPVersion, isHEAD: Bool, allocator: ByteBufferAllocator) -> ByteBuffer
    {
        var out = allocator.buffer(capacity: 256)
        out.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        out.writeStaticString("content-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\n")
        out.writeString("content-length: \(text.utf8.count)\r\n")
        switch self {
        case .serviceUnavailable, .maintenance: out.writeString("retry-after: \(Self.retryAfterSeconds)\r\n")
        case .redirectToHTTPS(let location): out.writeString("location: \(location)\r\n")
        default: break
        }
        if !keepAlive {
            out.writeStaticString("connection: close\r\n")
        } else if clientVersion.minor == 0 {
            out.writeStaticString("connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
        if !isHEAD {
            out.writeString(text)
        }
        return out
    }
}
