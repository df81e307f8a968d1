import Foundation
import GRDB
import Store
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
}
