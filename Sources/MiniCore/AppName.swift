/// A validated app name: a lowercase DNS label of 1–40 characters
/// (`a-z`, `0-9` and inner `-`), so `<app>.<domain>` is always a valid host name.
public struct AppName: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The longest name accepted.
    public static let maxLength = 40

    /// The validated name.
    public let rawValue: String

    /// Validates `rawValue`, throwing ``AppNameError`` with a message that says what is wrong.
    public init(_ rawValue: String) throws(AppNameError) {
        let bytes = Array(rawValue.utf8)
        guard !bytes.isEmpty else { throw AppNameError("app name is empty") }
        guard bytes.count <= Self.maxLength else {
            throw AppNameError("app name '\(rawValue)' is longer than \(Self.maxLength) characters")
        }
        for byte in bytes where !(Self.isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-")) {
            throw AppNameError(
                "app name '\(rawValue)' may only contain lowercase letters, digits and '-'"
            )
        }
        guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw AppNameError("app name '\(rawValue)' must start and end with a letter or digit")
        }
        self.rawValue = rawValue
    }

    /// Makes a valid app name out of any text, such as a folder name: lowercased, runs of other
    /// characters turned into one `-`, trimmed to ``maxLength``. Returns nil when nothing is left.
    public init?(sanitizing text: String) {
        var result: [UInt8] = []
        for byte in text.lowercased().utf8 {
            if Self.isLowerAlphanumeric(byte) {
                result.append(byte)
            } else if result.last != UInt8(ascii: "-") {
                result.append(UInt8(ascii: "-"))
            }
        }
        var name = String(decoding: result, as: UTF8.self)
        name = String(name.prefix(Self.maxLength))
        while name.hasPrefix("-") { name.removeFirst() }
        while name.hasSuffix("-") { name.removeLast() }
        guard let valid = try? AppName(name) else { return nil }
        self = valid
    }

    public var description: String { rawValue }

    public static func < (lhs: AppName, rhs: AppName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try AppName(container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Why a text is not a valid ``AppName``.
public struct AppNameError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
