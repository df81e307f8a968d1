import NIOCore
import Testing

@testable import Proxy

@Suite("Trusted proxy address ranges")
struct AddressRangeTests {
    private func address(_ ip: String) throws -> SocketAddress {
        try SocketAddress(ipAddress: ip, port: 1234)
    }

    @Test("IPv4 and IPv6 addresses and CIDR ranges match what they cover, IPv4-mapped IPv6 included")
    func matching() throws {
        let range = try #require(AddressRange("10.1.0.0/16"))
        #expect(range.contains(try address("10.1.255.7")))
        #expect(!range.contains(try address("10.2.0.1")))
        #expect(range.contains(try address("::ffff:10.1.2.3")))
        #expect(range.description == "10.1.0.0/16")

        let single = try #require(AddressRange("127.0.0.1"))
        #expect(single.contains(try address("127.0.0.1")))
        #expect(!single.contains(try address("127.0.0.2")))

        let v6 = try #require(AddressRange("fd00::/8"))
        #expect(v6.contains(try address("fd12:3456::1")))
        #expect(!v6.contains(try address("fe80::1")))
        #expect(!v6.contains(try address("10.1.2.3")))
        #expect(try #require(AddressRange("::1")).contains(try address("::1")))
        #expect(try #require(AddressRange("0.0.0.0/0")).contains(try address("203.0.113.9")))
        #expect(AddressRange("10.1.2.3/7")?.description == "10.0.0.0/7", "bits past the prefix are cleared")
    }

    @Test("Anything else is refused")
    func refused() {
        for text in [
            "", "10.0.0.0/33", "::1/129", "10.0.0/8", "example.com", "10.0.0.0/", "10.0.0.0/-1", "1.2.3.4/8/8",
        ] {
            #expect(AddressRange(text) == nil, "\(text)")
        }
    }
}
