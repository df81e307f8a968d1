import Foundation
import HTTPTypes
import Hummingbird
import MiniCore

/// An API failure, answered as `{"error": {"code": "...", "message": "..."}}` with the
/// matching status.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    private enum Code: String {
        case badRequest = "bad_request"
        case invalidAppName = "invalid_app_name"
        case invalidArchive = "invalid_archive"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case conflict
        case payloadTooLarge = "payload_too_large"
        case unavailable
        /// An error of Hummingbird's or NIO's (an unknown route, a method a route does not
        /// take), with its status.
        case refused
        case internalError = "internal"

        var status: HTTPResponse.Status {
            switch self {
            case .badRequest, .invalidAppName, .invalidArchive, .refused: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .conflict: .conflict
            case .payloadTooLarge: .contentTooLarge
            case .unavailable: .serviceUnavailable
            case .internalError: .internalServerError
            }
        }
    }

    private let code: Code
    public let message: String
    public let status: HTTPResponse.Status
    /// The methods the path takes, for a 405's `Allow`.
    private let allowed: [HTTPRequest.Method]

    private init(
        _ code: Code, _ message: String, status: HTTPResponse.Status? = nil, allowed: [HTTPRequest.Method] = []
    ) {
        self.code = code
        self.message = message
        self.status = status ?? code.status
        self.allowed = allowed
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static func invalidAppName(_ message: String) -> APIError { APIError(.invalidAppName, message) }
    static func invalidArchive(_ message: String) -> APIError { APIError(.invalidArchive, message) }
    static let unauthorized = APIError(
        .unauthorized,
        "missing or wrong API token; send 'Authorization: Bearer <token>'"
    )
    static func expired(_ token: String, at date: Date) -> APIError {
        APIError(
            .unauthorized,
            "the token \(token) expired at \(date.formatted(.iso8601)); make a new one on the server "
                + "(minid tokens create NAME)")
    }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }
    /// 405: the path is an API call, which `method` is not.
    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> APIError {
        let names = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "this API call takes \(names), not \(method.rawValue)", allowed: allowed)
    }
    static func payloadTooLarge(limit: Int64) -> APIError {
        APIError(
            .payloadTooLarge,
            "upload larger than the limit of \(limit) bytes; add a .dockerignore or raise --max-upload")
    }
    /// A build context over ``APIConfiguration/maxContextBytes`` or
    /// ``APIConfiguration/maxContextEntries``: 413, as an upload over its limit.
    static func contextTooLarge(_ message: String) -> APIError { APIError(.payloadTooLarge, message) }
    static func unavailable(_ message: String) -> APIError { APIError(.unavailable, message) }

    /// What Hummingbird or NIO answered with `status` (an unknown route, a body over the
    /// limit), in the API's error body.
    static func answered(_ status: HTTPResponse.Status, _ message: String?) -> APIError {
        switch status {
        case .notFound: .notFound(message ?? "no such API call; see mini --help or the README")
        case .contentTooLarge: APIError(.payloadTooLarge, message ?? "the request body is larger than this call takes")
        default: APIError(.refused, message ?? status.reasonPhrase, status: status)
        }
    }
    /// Anything else a route threw: 500, the error itself in minid's log.
    static let unexpected = APIError(.internalError, "minid failed on this request; its log says why")

    public var description: String { "\(code.rawValue): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try JSONEncoder.mini.encode(APIErrorBody(code: code.rawValue, message: message))
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if code == .unauthorized {
            headers[.wwwAuthenticate] = "Bearer realm=\"mini\""
        }
        if !allowed.isEmpty {
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        }
        // A HEAD answer has no body (its headers stand for the GET's).
        if request.method == .head { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
