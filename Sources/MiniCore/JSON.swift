import Foundation

extension JSONEncoder {
    /// The encoder every part of mini uses for the wire format: ISO 8601 dates in UTC with
    /// milliseconds (a job's timings are often below a second), sorted keys.
    public static var mini: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(WireDate.withMilliseconds))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    /// The decoder matching ``Foundation/JSONEncoder/mini``; it also reads ISO 8601 dates
    /// without fractional seconds.
    public static var mini: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            if let date = try? Date(text, strategy: WireDate.withMilliseconds) { return date }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not an ISO 8601 date such as 2026-01-31T12:00:00.250Z")
        }
        return decoder
    }
}

/// The date format of mini's JSON.
enum WireDate {
    static let withMilliseconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
