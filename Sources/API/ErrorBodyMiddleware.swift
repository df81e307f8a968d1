import Hummingbird
import Logging

/// Answers every error in the API's error body (``APIError``), so that a client can tell
/// minid's refusals from another server's answers: Hummingbird's and NIO's errors (an unknown
/// route, a body over the limit) keep their status; any other error is a 500 whose cause
/// goes to minid's log.
struct ErrorBodyMiddleware: RouterMiddleware {
    typealias Context = MiniRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as any HTTPResponseError {
            throw APIError.answered(error.status, (error as? HTTPError)?.body)
        } catch {
            context.logger.error(
                "request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError.unexpected
        }
    }
}
