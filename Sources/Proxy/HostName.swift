/// Host names as the routing table keys them: lowercase, without port or trailing dot.
enum HostName {
    /// Normalizes a `Host` header value or a configured name (see ``key(_:)``).
    static func normalize(_ host: String) -> String {
        var host = host
        return host.withUTF8 { key(UnsafeRawBufferPointer($0)) }
    }

    /// The routing key of a `Host` value given as bytes: without the port (also from
    /// `[v6]:port`) and a trailing dot, ASCII letters lowercased.
    static func key(_ host: UnsafeRawBufferPointer) -> String {
        var end = host.count
        if host.first == UInt8(ascii: "[") {
            if let close = host.firstIndex(of: UInt8(ascii: "]"), in: 0..<host.count) {
                end = close + 1
            }
        } else if let colon = host.firstIndex(of: UInt8(ascii: ":"), in: 0..<host.count) {
            end = colon
        }
        if end > 0 && host[end - 1] == UInt8(ascii: ".") {
            end -= 1
        }
        let name = UnsafeRawBufferPointer(rebasing: host[..<end])
        guard name.contains(where: isUpper) else {
            return String(decoding: name, as: UTF8.self)
        }
        return String(decoding: name.lazy.map { isUpper($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    private static func isUpper(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
