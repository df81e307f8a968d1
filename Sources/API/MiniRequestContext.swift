import Hummingbird
import Store

/// The request context of the API: the default storage plus the authenticated token's name.
public struct MiniRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The name of the token that authenticated this request.
    public var tokenName: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}

extension MiniRequestContext {
    /// Whether the token this request came with is still stored. A followed stream outlives
    /// the check made when its request began; it asks this now and then, and ends once its
    /// token is revoked. A store that cannot be read counts as still valid.
    func tokenStillValid(in database: MiniDatabase) -> @Sendable () -> Bool {
        let (tokens, name) = (TokenStore(database: database), tokenName)
        return {
            guard let name else { return true }
            return (try? tokens.exists(name: name)) ?? true
        }
    }
}

/// The last line of a followed stream whose token was revoked.
let revokedTokenLine = "-----> The token of this request was revoked: the stream ends.\n"
