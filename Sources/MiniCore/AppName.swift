/// A validated app name: a lowercase DNS label of 1–40 characters
/// (`a-z`, `0-9` and inner `-`), so `<app>.<domain>` is always a valid host name.
public struct AppName: ValidatedName {
    /// The longest name accepted.
    public static let maxLength = 40

    /// The validated name.
    public let rawValue: String

    /// Validates `rawValue`, throwing a ``NameError`` with a message that says what is wrong.
    public init(_ rawValue: String) throws(NameError) {
        let bytes = Array(rawValue.utf8)
        guard !bytes.isEmpty else { throw NameError("app name is empty") }
        guard bytes.count <= Self.maxLength else {
            throw NameError("app name '\(rawValue)' is longer than \(Self.maxLength) characters")
        }
        for byte in bytes where !(Self.isLowerAlphanumeric(byte) || byte == UInt8(ascii: "-")) {
            throw NameError(
                "app name '\(rawValue)' may only contain lowercase letters, digits and '-'"
            )
        }
        guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            throw NameError("app name '\(rawValue)' must start and end with a letter or digit")
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

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
