import Hummingbird
import Logging
import NIOHTTP1
import Store

/// Answers every error in the API's error body (``APIError``), so that a client can tell
/// minid's refusals from another server's answers: Hummingbird's and NIO's errors (an unknown
/// route, a body over the limit) keep their status; a request body NIO could not read (broken
/// chunked framing, a client gone mid-upload) is a 400, the client's doing; a database write
/// the disk had no room for is a 503 saying so; any other error is a 500 whose cause goes to
/// minid's log.
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
        } catch let error as HTTPParserError {
            context.logger.info(
                "request body unreadable", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError.badRequest("the request's body could not be read: \(error.debugDescription)")
        } catch  where MiniDatabase.isDiskFull(error) {
            context.logger.error("the data folder's disk is full", metadata: ["path": "\(request.uri.path)"])
            throw APIError.unavailable(
                "the server's disk is full (its data folder's): the change was not saved; free space there")
        } catch {
            context.logger.error(
                "request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError.unexpected
        }
    }
}
