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
    /// The upstream did not connect or answer in time.
    case gatewayTimeout

    var status: HTTPResponseStatus {
        switch self {
        case .notFound: .notFound
        case .badRequest: .badRequest
        case .headerFieldsTooLarge: .requestHeaderFieldsTooLarge
        case .badGateway: .badGateway
        case .serviceUnavailable: .serviceUnavailable
        case .gatewayTimeout: .gatewayTimeout
        }
    }

    var text: String {
        switch self {
        case .notFound: "no app here\n"
        case .badRequest: "bad request\n"
        case .headerFieldsTooLarge: "request header fields too large\n"
        case .badGateway: "bad gateway: the app did not answer properly\n"
        case .serviceUnavailable: "service unavailable: the app is starting or stopped, retry soon\n"
        case .gatewayTimeout: "gateway timeout: the app did not answer in time\n"
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After` with 503.
    static let retryAfterSeconds = "5"

    /// The response head, with framing and `Connection` set for `keepAlive`.
    func head(keepAlive: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(5)
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(text.utf8.count))
        headers.add(name: "cache-control", value: "no-store")
        if case .serviceUnavailable = self {
            headers.add(name: "retry-after", value: Self.retryAfterSeconds)
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        }
        return HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    /// The body, allocated from `allocator`.
    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: text)
    }
}
