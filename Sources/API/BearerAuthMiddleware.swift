import Foundation
import HTTPTypes
import Hummingbird
import MiniCore
import Store

/// Lets a request through only with `Authorization: Bearer <token>` of a stored token.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = MiniRequestContext

    let tokens: TokenStore

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = request.bearerToken, let identity = try await tokens.verify(token) else {
            throw APIError.unauthorized
        }
        if identity.hasExpired(), let end = identity.expiresAt {
            throw APIError.expired(identity.name, at: end)
        }
        var context = context
        context.token = identity
        return try await next(request, context)
    }
}

/// Lets a request to a route of one app (`/v1/apps/{app}/...`) through only when its token may
/// act on that app: a token made with `--app pr-*` reaches `pr-42`'s routes, 403 elsewhere.
/// Routes that list or span apps check the token themselves.
struct AppAccessMiddleware: RouterMiddleware {
    typealias Context = MiniRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // An invalid name is the route's to answer (400), and reaches no app.
        if let text = context.parameters.get("app"), let app = try? AppName(text) {
            try context.requireAccess(to: app)
        }
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

    /// Why the token this request came with no longer holds, nil while it does: revoked (by
    /// value: a new token under the old name does not keep it going) or expired. A followed
    /// stream or a one-off run outlives the check made when its request began; it asks this now
    /// and then, and ends once it says why. The request's own end is checked first, without the
    /// store; a store that cannot be read counts as the token still there.
    func tokenEnd(in database: MiniDatabase, context: MiniRequestContext) -> @Sendable () async -> FollowedStreamEnd? {
        let (tokens, token, expiresAt) = (TokenStore(database: database), bearerToken, context.token?.expiresAt)
        return {
            if let expiresAt, expiresAt <= Date() { return .tokenExpired }
            guard let token else { return .tokenRevoked }
            do {
                guard let identity = try await tokens.verify(token) else { return .tokenRevoked }
                return identity.hasExpired() ? .tokenExpired : nil
            } catch {
                return nil
            }
        }
    }
}
