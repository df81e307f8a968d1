import HTTPTypes
import Hummingbird

/// Answers 405 with `Allow` for a path of the API asked with a method it does not take
/// (`DELETE /v1/apps`), where the router answers 404 as for a path it does not know. Added
/// after every route, it wraps only the router's not-found answer.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = MiniRequestContext

    /// The API's routes: path and method.
    let routes: [(path: RouterPath, method: HTTPRequest.Method)]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = methods(of: request.uri.path)
            // A route's own 404 (an answer, not a miss) passes as it is.
            guard !allowed.isEmpty, !allowed.contains(request.method) else { throw error }
            throw APIError.methodNotAllowed(request.method, allowed: allowed)
        }
    }

    /// The methods of the routes whose path matches `path`, in a stable order, with HEAD
    /// where GET is (the router answers it as GET).
    func methods(of path: String) -> [HTTPRequest.Method] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var names = routes.filter { Self.path($0.path, matches: segments) }.map(\.method.rawValue)
        if names.contains(HTTPRequest.Method.get.rawValue) { names.append(HTTPRequest.Method.head.rawValue) }
        return Set(names).sorted().compactMap { HTTPRequest.Method($0) }
    }

    private static func path(_ path: RouterPath, matches segments: [Substring]) -> Bool {
        guard path.components.count == segments.count else { return false }
        for (element, segment) in zip(path.components, segments) where !(element ~= segment) {
            return false
        }
        return true
    }
}
