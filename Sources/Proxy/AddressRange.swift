import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IP address or a CIDR range of them (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`), for
/// the proxies whose `X-Forwarded-*` headers are trusted. An IPv4 range also matches the
/// IPv4-mapped IPv6 form of its addresses (`::ffff:10.1.2.3`).
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// The range's first address, 4 or 16 bytes, with the bits past the prefix cleared.
    private let network: [UInt8]
    private let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.parse(String(parts[0])) else { return nil }
        let maxPrefix = bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : maxPrefix
        guard let prefix, (0...maxPrefix).contains(prefix) else { return nil }
        network = Self.masked(bytes, prefixLength: prefix)
        prefixLength = prefix
    }

    public var description: String {
        let family = network.count == 4 ? AF_INET : AF_INET6
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = network.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + "/\(prefixLength)"
    }

    /// Whether `address` is in the range.
    public func contains(_ address: SocketAddress) -> Bool {
        guard var bytes = Self.bytes(of: address) else { return false }
        if network.count == 4 && bytes.count == 16 && bytes[0..<12].elementsEqual(Self.v4MappedPrefix) {
            bytes = Array(bytes[12...])
        }
        return bytes.count == network.count && Self.masked(bytes, prefixLength: prefixLength) == network
    }

    private static let v4MappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    private static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: v6) { Array($0) }
        }
        return nil
    }

    private static func bytes(of address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let address): withUnsafeBytes(of: address.address.sin_addr) { Array($0) }
        case .v6(let address): withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
        case .unixDomainSocket: nil
        }
    }

    private static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(prefixLength - index * 8, 0), 8)
            return bits == 8 ? byte : byte & ~(0xFF >> bits)
        }
    }
}
