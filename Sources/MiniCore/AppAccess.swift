/// A pattern of app names for a token limited to some apps: app-name characters and `*`, which
/// stands for any run of characters (`pr-*` matches `pr-1` and `pr-feature-x`). The same
/// syntax as SQLite's `GLOB` for these characters, so a store can filter with it.
public struct AppPattern: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The longest pattern accepted.
    public static let maxLength = 64

    /// The pattern's text.
    public let rawValue: String

    /// Validates `text`, throwing a ``NameError`` that says what is wrong.
    public init(_ text: String) throws(NameError) {
        let bytes = Array(text.utf8)
        guard (1...Self.maxLength).contains(bytes.count) else {
            throw NameError("an app pattern is 1 to \(Self.maxLength) characters, such as pr-*")
        }
        for byte in bytes
        where
            !((UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "*"))
        {
            throw NameError(
                "app pattern '\(text)' may only contain lowercase letters, digits, '-' and '*' (any run of characters)")
        }
        guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw NameError("app pattern '\(text)' can match no app: app names start and end with a letter or digit")
        }
        self.rawValue = text
    }

    public init(from decoder: any Decoder) throws {
        self = try Self(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        let pattern = Array(rawValue.utf8)
        let name = Array(name.utf8)
        var (patternIndex, nameIndex) = (0, 0)
        // Where the last `*` was and how much of the name it has taken so far: on a mismatch
        // it takes one byte more.
        var lastStar: (pattern: Int, name: Int)?
        while nameIndex < name.count {
            if patternIndex < pattern.count, pattern[patternIndex] == UInt8(ascii: "*") {
                lastStar = (patternIndex, nameIndex)
                patternIndex += 1
            } else if patternIndex < pattern.count, pattern[patternIndex] == name[nameIndex] {
                patternIndex += 1
                nameIndex += 1
            } else if let star = lastStar {
                lastStar = (star.pattern, star.name + 1)
                patternIndex = star.pattern + 1
                nameIndex = star.name + 1
            } else {
                return false
            }
        }
        return pattern[patternIndex...].allSatisfy { $0 == UInt8(ascii: "*") }
    }
}

/// The apps an API token may act on: every app, or those matching one of its patterns.
public enum AppAccess: Sendable, Hashable, CustomStringConvertible {
    /// Every app, and the calls that span them (`/metrics`).
    case every
    /// The apps whose names match one of the patterns.
    case matching([AppPattern])

    /// Whether a token with this access may act on `app`.
    public func allows(_ app: AppName) -> Bool {
        switch self {
        case .every: true
        case .matching(let patterns): patterns.contains { $0.matches(app.rawValue) }
        }
    }

    /// The patterns, nil for every app.
    public var patterns: [AppPattern]? {
        switch self {
        case .every: nil
        case .matching(let patterns): patterns
        }
    }

    public var description: String {
        switch self {
        case .every: "every app"
        case .matching(let patterns): "apps matching " + patterns.map(\.rawValue).joined(separator: ", ")
        }
    }
}
