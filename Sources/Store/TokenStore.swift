import Crypto
import Foundation
import GRDB

/// API tokens. Only the SHA-256 of a token is stored; a presented token is hashed and
/// compared in constant time with every stored hash.
public struct TokenStore: Sendable {
    let database: MiniDatabase

    public init(database: MiniDatabase) {
        self.database = database
    }

    /// Creates a token named `name` and returns it in clear: the only time it is visible.
    public func create(name: String) throws -> String {
        let token = Self.generate()
        let hash = Self.hash(token)
        try database.write { db in
            try db.execute(
                sql: "INSERT INTO tokens (name, hash, created_at) VALUES (?, ?, ?)",
                arguments: [name, hash, Date().timeIntervalSince1970]
            )
        }
        return token
    }

    /// The number of stored tokens.
    public func count() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens") ?? 0 }
    }

    /// The name of the token, if `token` is one of the stored tokens.
    public func verify(_ token: String) throws -> String? {
        let presented = Array(Self.hash(token).utf8)
        let tokens = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, hash FROM tokens").map { row in
                (name: row["name"] as String, hash: row["hash"] as String)
            }
        }
        var match: String?
        for token in tokens where Self.constantTimeEqual(Array(token.hash.utf8), presented) {
            match = token.name
        }
        return match
    }

    /// A new random token: `mini_` and 32 random bytes in hex.
    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return "mini_" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }
}
