import Hummingbird
import MiniCore
import Store

/// The request context of the API: the default storage plus the authenticated token.
public struct MiniRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token that authenticated this request.
    public var token: TokenStore.Identity?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// The name of the token that authenticated this request.
    public var tokenName: String? { token?.name }

    /// 403 unless the request's token may act on `app`.
    func requireAccess(to app: AppName) throws {
        guard let token, token.access.allows(app) else {
            throw APIError.forbidden(
                "this token (\(tokenName ?? "none")) may act only on \(token?.access.description ?? "no app"), not \(app); "
                    + "use a token made for it (minid tokens create)")
        }
    }

    /// 403 unless the request's token may act on every app, saying `reason` (a call that spans
    /// them all, a claim no limited token may make).
    func requireEveryApp(_ reason: String) throws {
        guard token?.access == .every else {
            throw APIError.forbidden(
                "\(reason); this token (\(tokenName ?? "none")) may act only on "
                    + "\(token?.access.description ?? "no app"): use one made without --app (minid tokens create NAME)")
        }
    }

    /// The apps this request's token may act on (none without a token).
    var appAccess: AppAccess { token?.access ?? .matching([]) }
}
