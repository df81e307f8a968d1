import Foundation
import GRDB
import Store
import Synchronization
import Testing

@Suite("tokens")
struct TokenStoreTests {
    @Test("tokens are stored hashed and verified by value")
    func storedHashed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).sqlite")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let database = try MiniDatabase(path: path)
        let tokens = TokenStore(database: database)
        let token = try tokens.create(name: "admin")
        #expect(token.hasPrefix("mini_"))
        #expect(try tokens.verify(token) == "admin")
        #expect(try tokens.verify(token + "x") == nil)
        #expect(try tokens.verify("") == nil)
        let stored = try database.read { db in try String.fetchAll(db, sql: "SELECT hash FROM tokens") }
        #expect(stored.count == 1)
        #expect(!stored[0].contains(token))
        // The raw token appears nowhere in the database file.
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(file.range(of: Data(token.utf8)) == nil)
    }

    @Test("the first token is saved only once it was kept, and only while there is none")
    func firstTokenKeptBeforeSaved() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).sqlite")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = TokenStore(database: try MiniDatabase(path: path))
        struct DiskFull: Error {}
        #expect(throws: DiskFull.self) { try tokens.createFirst(name: "admin") { _ in throw DiskFull() } }
        #expect(try tokens.list().isEmpty)
        let kept = Mutex<String?>(nil)
        let token = try #require(try tokens.createFirst(name: "admin") { token in kept.withLock { $0 = token } })
        #expect(kept.withLock { $0 } == token)
        #expect(try tokens.verify(token) == "admin")
        #expect(try tokens.createFirst(name: "admin") { _ in Issue.record("a second first token") } == nil)
        #expect(try tokens.list().count == 1)
    }

    @Test("tokens are created under unique valid names, listed without values, and revoked, never the last")
    func manage() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).sqlite")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let tokens = TokenStore(database: try MiniDatabase(path: path))
        let admin = try tokens.create(name: "admin")
        let ci = try tokens.create(name: "ci-previews")
        #expect(try tokens.list().map(\.name) == ["admin", "ci-previews"])
        for bad in ["", "CI", "ci previews", "ci/x", String(repeating: "a", count: 65)] {
            #expect(throws: TokenStore.Refusal.self, "\(bad)") { try tokens.create(name: bad) }
        }
        #expect(throws: TokenStore.Refusal.self, "a second token with the same name") {
            try tokens.create(name: "ci-previews")
        }
        #expect(try tokens.verify(ci) == "ci-previews")
        try tokens.revoke(name: "ci-previews")
        #expect(try tokens.verify(ci) == nil, "a revoked token is refused")
        #expect(try tokens.verify(admin) == "admin")
        #expect(throws: TokenStore.Refusal.self, "unknown name") { try tokens.revoke(name: "ci-previews") }
        #expect(throws: TokenStore.Refusal.self, "the last token") { try tokens.revoke(name: "admin") }
        #expect(try tokens.verify(admin) == "admin")
    }
}
