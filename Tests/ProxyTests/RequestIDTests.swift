import Testing

@testable import Proxy

@Suite struct RequestIDTests {
    @Test("Generated request ids are 32 hex digits, never repeat, and share nothing a client could count on")
    func generatedIDs() {
        var generator = RequestIDGenerator()
        let ids = (0..<10_000).map { _ in generator.next() }
        let texts = ids.map(\.description)
        #expect(Set(texts).count == ids.count)
        #expect(texts.allSatisfy { $0.utf8.count == 32 && $0.allSatisfy(\.isHexDigit) })
        // Neither half is a counter or a constant: a seen id tells nothing of the next.
        let pairs = zip(ids, ids.dropFirst())
        #expect(pairs.filter { $0.high == $1.high || $0.low == $1.low }.isEmpty)
        #expect(pairs.filter { $1.low &- $0.low < 1_000 || $1.high &- $0.high < 1_000 }.isEmpty)
        // Another loop's generator makes other ids.
        var other = RequestIDGenerator()
        #expect(!Set(texts).contains(other.next().description))
    }
}
