import Foundation
import HTTPTypes
import Hummingbird
import Store

/// Lets a request through only with `Authorization: Bearer <token>` of a stored token.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = MiniRequestContext

    let tokens: TokenStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let name = try tokens.verify(token) else { throw APIError.unauthorized }
        var context = context
        context.tokenName = name
        return try await next(request, context)
    }
}
