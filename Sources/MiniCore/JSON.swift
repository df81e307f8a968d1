import Foundation

extension JSONEncoder {
    /// The encoder every part of mini uses for the wire format: ISO 8601 dates in UTC with
    /// milliseconds (a job's timings are often below a second), sorted keys.
    ///
    /// Dates are rounded to the millisecond (the format style cuts the rest off), so that a
    /// date read from this JSON, a hair below its millisecond in binary, writes as it was read
    /// (`mini status --json` passes the server's times on unchanged).
    public static var mini: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(WireDate.format(date))
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

    /// `date` as `2026-01-31T12:00:00.250Z`, rounded to the millisecond.
    static func format(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let fraction = (milliseconds % 1000 + 1000) % 1000  // also before 1970
        let seconds = (milliseconds - fraction) / 1000
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)  // …:00Z
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - String(fraction).count) + "\(fraction)Z"
    }
}
