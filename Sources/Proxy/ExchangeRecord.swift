import Logging
import NIOCore
import NIOHTTP1

/// What the proxy remembers about the exchange under way: for retries, framing, statistics and
/// the access log. A value type reset per request, so it costs no allocation.
struct ExchangeRecord {
    /// Increases per exchange, so that late callbacks (a connect that finishes after the client
    /// left) can tell they are stale.
    var id = 0
    var startedAt = NIODeadline.uptimeNanoseconds(0)
    var method = HTTPMethod.GET
    var uri = ""
    var clientVersion = HTTPVersion.http1_1
    /// The request carries a body (`Transfer-Encoding`, or a non-zero `Content-Length`).
    var hasBody = false
    /// The client asks to switch protocols.
    var isUpgrade = false
    /// The request's `X-Request-Id`, kept for the access log only.
    var requestID: String?
    /// The instance the request went to (last attempt).
    var upstream: Upstream?
    /// Upstream attempts that failed before this one.
    var failedAttempts = 0
    var upstreamKeepAlive = false
    /// The upstream's body ends with its connection and the client speaks HTTP/1.1: the proxy
    /// frames the body in chunks.
    var chunksResponse = false
    var status = 0
    /// The answer is the app's maintenance page (counted apart, see ``StatusClassCounts/maintenance``).
    var isMaintenancePage = false
    var responseBytes = 0

    /// Starts the record of the next exchange.
    mutating func begin(method: HTTPMethod, uri: String, version: HTTPVersion) {
        self = ExchangeRecord(
            id: id &+ 1,
            startedAt: .now(),
            method: method,
            uri: uri,
            clientVersion: version
        )
    }

    /// Whether sending the request again cannot repeat a side effect: an idempotent method
    /// without a body.
    var isReplayable: Bool {
        guard !hasBody else { return false }
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }
}

extension Logger {
    /// Writes the access log line of one exchange.
    func logExchange(
        _ exchange: ExchangeRecord,
        route: String?,
        requestID: String?
    ) {
        let microseconds = (NIODeadline.now() - exchange.startedAt).nanoseconds / 1000
        let fraction = String(microseconds % 1000)
        let milliseconds = "\(microseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        info(
            "request",
            metadata: [
                "app": .string(route ?? "-"),
                "method": .string(exchange.method.rawValue),
                "path": .string(exchange.uri),
                "status": .stringConvertible(exchange.status),
                "bytes": .stringConvertible(exchange.responseBytes),
                "duration_ms": .string(milliseconds),
                "upstream": .string(exchange.upstream?.description ?? "-"),
                "request_id": .string(requestID ?? "-"),
            ]
        )
    }
}
