import Hummingbird

extension Request {
    /// The body decoded as JSON; 400 saying what is wrong when it is not a `T`.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: MiniRequestContext) async throws -> T {
        do {
            return try await decode(as: type, context: context)
        } catch {
            throw APIError.badRequest("the request body is not valid JSON for this call: \(error)")
        }
    }
}
