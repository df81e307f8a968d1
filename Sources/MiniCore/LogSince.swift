import Foundation

/// Where an app's logs begin for `mini logs --since` (`GET /v1/apps/{app}/logs?since=`): a
/// duration back from now (`90s`, `10m`, `2h`, `1d`), an RFC 3339 time
/// (`2026-12-07T15:00:00Z`), or a Unix time in seconds. The server reads it, so that a
/// duration counts back from the server's clock, not a laptop's.
public enum LogSince {
    /// What `--since` takes, for error messages.
    public static let rule =
        "--since takes a duration back from now with its unit (30s, 10m, 2h, 1d), an RFC 3339 time with its zone "
        + "(2026-12-07T15:00:00Z) or a Unix time in seconds (1765119600)"

    /// The moment `text` names, nil when it is none of the forms.
    public static func date(_ text: String, now: Date = Date()) -> Date? {
        if let date = RelativeTime.date(text, direction: .back, now: now) { return date }
        // A Unix time before 2001 is a duration without its unit (`--since 10`).
        if text.first?.isNumber == true, text.allSatisfy({ $0.isNumber || $0 == "." }), let seconds = Double(text),
            (earliestUnixTime...latestUnixTime).contains(seconds)
        {
            return Date(timeIntervalSince1970: seconds)
        }
        return nil
    }

    /// The end of the year 9999: later Unix times are typos.
    private static let latestUnixTime: Double = 253_402_300_799
    /// 2001-09-09, the first Unix time of ten digits.
    private static let earliestUnixTime: Double = 1_000_000_000
}
