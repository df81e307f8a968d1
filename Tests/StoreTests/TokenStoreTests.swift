import Foundation
import GRDB
import MiniCore
import Store
import Synchronization
import Testing

@Suite("tokens")
struct TokenStoreTests {
    @Test("tokens are stored hashed and verified by value")
    func storedHashed() async throws {
        let file = TemporaryDatabase()
        defer { file.remove() }
        let database = try file.open()
        let tokens = TokenStore(database: database)
        let token = try await tokens.create(name: "admin")
        #expect(token.hasPrefix("mini_"))
        #expect(try await tokens.verify(token)?.name == "admin")
        #expect(try await tokens.verify(token + "x") == nil)
        #expect(try await tokens.verify("") == nil)
        let stored = try await database.read { db in try String.fetchAll(db, sql: "SELECT hash FROM tokens") }
        #expect(stored.count == 1)
        #expect(!stored[0].contains(token))
        // The raw token appears nowhere in the database file.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file.path))
        #expect(bytes.range(of: Data(token.utf8)) == nil)
    }

    @Test("the first token is saved only once it was kept, and only while there is none")
    func firstTokenKeptBeforeSaved() async throws {
        let file = TemporaryDatabase()
        defer { file.remove() }
        let tokens = TokenStore(database: try file.open())
        struct DiskFull: Error {}
        await #expect(throws: DiskFull.self) { try await tokens.createFirst(name: "admin") { _ in throw DiskFull() } }
        #expect(try await tokens.list().isEmpty)
        let kept = Mutex<String?>(nil)
        let token = try #require(try await tokens.createFirst(name: "admin") { token in kept.withLock { $0 = token } })
        #expect(kept.withLock { $0 } == token)
        #expect(try await tokens.verify(token)?.name == "admin")
        #expect(try await tokens.createFirst(name: "admin") { _ in Issue.record("a second first token") } == nil)
        #expect(try await tokens.list().count == 1)
    }

    @Test("tokens are created under unique valid names, listed without values, and revoked, never the last")
    func manage() async throws {
        let file = TemporaryDatabase()
        defer { file.remove() }
        let tokens = TokenStore(database: try file.open())
        let admin = try await tokens.create(name: "admin")
        let ci = try await tokens.create(name: "ci-previews")
        #expect(try await tokens.list().map(\.name) == ["admin", "ci-previews"])
        for bad in ["", "CI", "ci previews", "ci/x", String(repeating: "a", count: 65)] {
            await #expect(throws: TokenStore.Refusal.self, "\(bad)") { try await tokens.create(name: bad) }
        }
        await #expect(throws: TokenStore.Refusal.self, "a second token with the same name") {
            try await tokens.create(name: "ci-previews")
        }
        #expect(try await tokens.verify(ci)?.name == "ci-previews")
        try await tokens.revoke(name: "ci-previews")
        #expect(try await tokens.verify(ci) == nil, "a revoked token is refused")
        #expect(try await tokens.verify(admin)?.name == "admin")
        await #expect(throws: TokenStore.Refusal.self, "unknown name") { try await tokens.revoke(name: "ci-previews") }
        await #expect(throws: TokenStore.Refusal.self, "the last token") { try await tokens.revoke(name: "admin") }
        #expect(try await tokens.verify(admin)?.name == "admin")
    }

    @Test("a token's apps and end are kept with it and come back with its identity")
    func scopes() async throws {
        let file = TemporaryDatabase()
        defer { file.remove() }
        let tokens = TokenStore(database: try file.open())
        let admin = try await tokens.create(name: "admin")
        let end = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
        let patterns = [try AppPattern("pr-*"), try AppPattern("staging")]
        let ci = try await tokens.create(name: "ci", access: .matching(patterns), expiresAt: end)
        let identity = try #require(try await tokens.verify(ci))
        #expect(identity == TokenStore.Identity(name: "ci", access: .matching(patterns), expiresAt: end))
        #expect(!identity.hasExpired() && identity.hasExpired(at: end))
        let allowed = try ["pr-12", "staging", "shop", "staging-2"].filter { identity.access.allows(try AppName($0)) }
        #expect(allowed == ["pr-12", "staging"])
        #expect(try await tokens.verify(admin) == TokenStore.Identity(name: "admin", access: .every, expiresAt: nil))
        let listed = try await tokens.list()
        #expect(listed.map(\.apps) == [nil, patterns] && listed.map(\.expiresAt) == [nil, end])
        // The last token for every app stays while only limited ones would be left.
        await #expect(throws: TokenStore.Refusal.self) { try await tokens.revoke(name: "admin") }
        _ = try await tokens.create(name: "ops", expiresAt: Date().addingTimeInterval(0.5))
        try await Task.sleep(for: .milliseconds(600))
        await #expect(throws: TokenStore.Refusal.self, "an expired one counts as none") {
            try await tokens.revoke(name: "admin")
        }
        _ = try await tokens.create(name: "ops-2")
        try await tokens.revoke(name: "admin")
        try await tokens.revoke(name: "ci")
    }
}

/// A database file of a test's own, removed with the files SQLite keeps beside it.
private struct TemporaryDatabase {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).sqlite").path

    func open() throws -> MiniDatabase { try MiniDatabase(path: path) }

    func remove() {
        for file in [path, path + "-wal", path + "-shm", path + "-migrate.lock"] {
            try? FileManager.default.removeItem(atPath: file)
        }
    }
}
