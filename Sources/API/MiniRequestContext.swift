import Hummingbird

/// The request context of the API: the default storage plus the authenticated token's name.
public struct MiniRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The name of the token that authenticated this request.
    public var tokenName: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
    }
}
