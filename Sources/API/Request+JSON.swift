import Foundation
import Hummingbird

extension Request {
    /// The body decoded as `type`; 400 saying which field is missing or of the wrong type.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: MiniRequestContext) async throws -> T {
        var request = self
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch let error as DecodingError {
            // Foundation reports a number that does not fit its field (1.5 for a count) as
            // invalid JSON, without a path.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
                (try? JSONSerialization.jsonObject(with: body, options: .fragmentsAllowed)) != nil
            {
                throw APIError.badRequest(
                    "the request body does not fit this call: a number in it does not fit its field "
                        + "(whole numbers only where a count or bytes are asked for)")
            }
            throw APIError.badRequest("the request body does not fit this call: \(Self.explain(error))")
        }
    }

    /// A `DecodingError` in the words of the JSON it was about.
    static func explain(_ error: DecodingError) -> String {
        func field(_ path: [any CodingKey]) -> String {
            path.isEmpty
                ? "the body"
                : "'" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(field(context.codingPath + [key])) is missing"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(field(context.codingPath)) must be \(jsonKind(of: type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "it is not valid JSON" : "\(field(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// What JSON calls the values of a Swift type the API decodes, for error messages.
private func jsonKind(of type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "true or false"
    case is any Numeric.Type: "a number"
    case is [Any].Type: "an array"
    default: "an object"
    }
}
