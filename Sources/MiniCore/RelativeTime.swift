import Foundation

/// A moment as people type it on a command line: a duration with its unit counted from now
/// (`90s`, `10m`, `2h`, `1d`; back for `--since`, ahead for `--expires`), or an RFC 3339 time
/// with its zone (`2026-12-07T15:00:00Z`).
public enum RelativeTime {
    /// Which way a duration counts from now.
    public enum Direction: Sendable {
        case back, ahead
    }

    /// The moment `text` names, nil when it is neither form.
    public static func date(_ text: String, direction: Direction, now: Date = Date()) -> Date? {
        if let unit = text.last, let factor = unitSeconds[unit], let count = Int(text.dropLast()), count >= 0,
            count <= Int(Double(Int32.max) / factor)
        {
            let seconds = Double(count) * factor
            return now.addingTimeInterval(direction == .back ? -seconds : seconds)
        }
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    private static let unitSeconds: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
}
