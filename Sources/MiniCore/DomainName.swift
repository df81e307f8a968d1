/// A validated custom domain of an app (`www.example.com`): lowercase DNS labels of 1–63
/// characters (`a-z`, `0-9`, inner `-`), at least two of them, at most 253 characters, no
/// port, no trailing dot, and not an IP address (a last label of digits only).
public struct DomainName: ValidatedName {
    /// The validated name, lowercased.
    public let rawValue: String

    /// Validates `text` (case is ignored), throwing a ``NameError`` with what is wrong.
    public init(_ text: String) throws(NameError) {
        let name = text.lowercased()
        guard !name.isEmpty, name.utf8.count <= 253 else {
            throw NameError("domain '\(text)' must have 1 to 253 characters")
        }
        guard !name.contains(where: { $0.isWhitespace || $0 == ":" || $0 == "/" }) else {
            throw NameError(
                "domain '\(text)' holds a space, ':' or '/': give the host name alone, such as www.example.com")
        }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            let bytes = Array(label.utf8)
            let valid =
                (1...63).contains(bytes.count) && bytes.first != UInt8(ascii: "-") && bytes.last != UInt8(ascii: "-")
                && bytes.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                }
            guard valid else {
                throw NameError(
                    "domain '\(text)' is not a host name: labels of letters, digits and inner '-', separated by '.'"
                )
            }
        }
        guard labels.count >= 2 else {
            throw NameError("domain '\(text)' needs at least two labels, such as www.example.com")
        }
        guard labels.last?.allSatisfy(\.isNumber) == false else {
            throw NameError("'\(text)' is an IP address; a custom domain is a host name, such as www.example.com")
        }
        rawValue = name
    }

}

/// `GET /v1/apps/{app}/domains` answer.
public struct DomainList: Codable, Sendable, Equatable {
    public var domains: [DomainName]
    public init(domains: [DomainName]) { self.domains = domains }
}

/// `POST /v1/apps/{app}/domains` body; the server validates `host` as a ``DomainName``.
public struct DomainRequest: Codable, Sendable, Equatable {
    public var host: String
    public init(host: String) { self.host = host }
}
