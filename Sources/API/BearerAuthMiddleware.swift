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
        guard let token = request.bearerToken, let name = try await tokens.verify(token) else {
            throw APIError.unauthorized
        }
        var context = context
        context.tokenName = name
        return try await next(request, context)
    }
}

extension Request {
    /// The token of `Authorization: Bearer <token>`, if the request has one (the scheme's name
    /// in any case, as RFC 9110 has it).
    var bearerToken: String? {
        guard let header = headers[.authorization], header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// Whether the token this request came with is still stored. A followed stream outlives
    /// the check made when its request began; it asks this now and then, and ends once its
    /// token is revoked (by value: a new token under the old name does not keep it going).
    /// A store that cannot be read counts as still valid.
    func tokenStillValid(in database: MiniDatabase) async -> @Sendable () async -> Bool {
        let (tokens, token) = (TokenStore(database: database), bearerToken)
        return {
            guard let token else { return false }
            do {
                return try await tokens.verify(token) != nil
            } catch {
                return true
            }
        }
    }
}
