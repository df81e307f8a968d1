import Foundation
import Hummingbird
import MiniCore

extension Request {
    /// Whether the query asks to follow a stream (`follow=1`, `true` or `yes`).
    var asksToFollow: Bool { flagQuery("follow") }

    /// Whether the query sets `name` (`1`, `true` or `yes`).
    func flagQuery(_ name: String) -> Bool {
        ["1", "true", "yes"].contains(uri.queryParameters[Substring(name)].map(String.init) ?? "")
    }

    /// The integer query parameter `name`, or `defaultValue` when it is absent; 400 when it
    /// is not a whole number within `range`, rather than guessing what was meant.
    func integerQuery(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = uri.queryParameters[Substring(name)] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest(
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// The `since` query parameter (``LogSince``), nil when absent; 400 when it is none of its forms.
    func sinceQuery() throws -> Date? {
        guard let text = uri.queryParameters["since"].map(String.init) else { return nil }
        guard let date = LogSince.date(text) else { throw APIError.badRequest(LogSince.rule) }
        return date
    }
}
