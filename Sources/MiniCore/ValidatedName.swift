/// A name checked when it is made from text, such as ``AppName`` and ``DomainName``: it is
/// carried, compared and encoded as that text, and decoding validates it again, so no invalid
/// name gets in through JSON either.
public protocol ValidatedName: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The validated text.
    var rawValue: String { get }

    /// Validates `text`, throwing a ``NameError`` that says what is wrong.
    init(_ text: String) throws(NameError)
}

extension ValidatedName {
    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try Self(container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Why a text is not a valid name, in words meant for the person who typed it.
public struct NameError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
