import Foundation

/// The engine's RFC 3339 timestamps with up to nanoseconds (`2024-05-01T10:00:00.123456789Z`).
enum EngineTimestamp {
    /// The time, or nil for an unparsable text or the engine's zero time (`0001-01-01T00:00:00Z`,
    /// "never").
    static func parse(_ text: String) -> Date? {
        var whole = Substring(text)
        var fraction = 0.0
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix(while: \.isNumber)
            fraction = Double("0." + digits) ?? 0
            whole = text[..<dot] + text[digits.endIndex...]
        }
        guard let seconds = try? Date(String(whole), strategy: .iso8601),
            seconds.timeIntervalSince1970 > 0
        else { return nil }
        return seconds + fraction
    }
}
