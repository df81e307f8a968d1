/// Host names as the routing table keys them: lowercase, without port or trailing dot.
enum HostName {
    /// Normalizes a `Host` header value (or a configured name): strips the port (also from
    /// `[v6]:port`) and a trailing dot, and lowercases ASCII letters. Returns the input itself
    /// when it is already normal, which is the common case and costs no allocation.
    static func normalize(_ host: String) -> String {
        let utf8 = host.utf8
        let isNormal =
            !utf8.contains { $0 == UInt8(ascii: ":") || isUpper($0) } && utf8.last != UInt8(ascii: ".")
        if isNormal {
            return host
        }
        var bytes = Array(host.utf8)
        if bytes.first == UInt8(ascii: "[") {
            if let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
                bytes.removeSubrange((close + 1)...)
            }
        } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            bytes.removeSubrange(colon...)
        }
        if bytes.last == UInt8(ascii: ".") {
            bytes.removeLast()
        }
        for index in bytes.indices where isUpper(bytes[index]) {
            bytes[index] |= 0x20
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func isUpper(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
