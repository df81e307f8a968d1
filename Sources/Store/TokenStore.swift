import Crypto
import Foundation
import GRDB
import MiniCore

/// API tokens. Only the SHA-256 of a token is stored; a presented token is hashed and
/// compared in constant time with every stored hash.
public struct TokenStore: Sendable {
    let database: MiniDatabase

    public init(database: MiniDatabase) {
        self.database = database
    }

    /// A stored token, without its value.
    public struct Info: Sendable, Codable, Equatable {
        public var name: String
        public var createdAt: Date
        /// The app patterns the token is limited to; nil when it may act on every app.
        public var apps: [AppPattern]?
        /// When the token stops working; nil when it does not expire.
        public var expiresAt: Date?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(createdAt, forKey: .createdAt)
            // null, not left out: scripts read "every app" and "never" from it.
            try container.encode(apps, forKey: .apps)
            try container.encode(expiresAt, forKey: .expiresAt)
        }
    }

    /// Who a presented token is: its name, the apps it may act on and its end.
    public struct Identity: Sendable, Equatable {
        public var name: String
        public var access: AppAccess
        public var expiresAt: Date?

        public init(name: String, access: AppAccess, expiresAt: Date?) {
            self.name = name
            self.access = access
            self.expiresAt = expiresAt
        }

        /// Whether the token no longer works at `now`.
        public func hasExpired(at now: Date = Date()) -> Bool {
            expiresAt.map { $0 <= now } ?? false
        }
    }

    /// Why a token could not be created or revoked.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Creates the first token, named `name`, unless there is one: in one transaction, so two
    /// processes starting at once make one. Returns it in clear, or nil when a token existed.
    /// - Parameter keep: given the token before its hash is saved, to keep it where its holder
    ///   finds it: a token that could not be kept is never saved.
    /// - Throws: what `keep` throws.
    public func createFirst(name: String, keep: @escaping @Sendable (String) throws -> Void) async throws -> String? {
        try await database.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM tokens") == 0 else { return nil }
            let token = Self.generate()
            try keep(token)
            try db.execute(
                sql: "INSERT INTO tokens (name, hash, created_at) VALUES (?, ?, ?)",
                arguments: [name, Self.hash(token), Date().timeIntervalSince1970]
            )
            return token
        }
    }

    /// Creates a token named `name` and returns it in clear: the only time it is visible.
    /// - Parameters:
    ///   - access: the apps it may act on (by default every app, and `/metrics`).
    ///   - expiresAt: when it stops working; nil for never.
    /// - Throws: ``Refusal`` when the name is not 1–64 lowercase letters, digits, `-`, `_`
    ///   or `.`, a token already has it, its patterns are none, or its end has passed.
    public func create(name: String, access: AppAccess = .every, expiresAt: Date? = nil) async throws -> String {
        guard Self.isValidName(name) else { throw Refusal(description: Self.nameRule) }
        if access.patterns?.isEmpty == true {
            throw Refusal(description: "a token limited to apps needs at least one app pattern, such as pr-*")
        }
        if let expiresAt, expiresAt <= Date() {
            throw Refusal(description: "the token would have expired already; give a time in the future")
        }
        let token = Self.generate()
        let hash = Self.hash(token)
        try await database.write { db in
            let taken =
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = ?)", arguments: [name])
                ?? false
            guard !taken else {
                throw Refusal(description: "a token named \(name) exists; revoke it first or pick another name")
            }
            try db.execute(
                sql: "INSERT INTO tokens (name, hash, created_at, apps, expires_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    name, hash, Date().timeIntervalSince1970, access.patterns?.map(\.rawValue).joined(separator: " "),
                    expiresAt?.timeIntervalSince1970,
                ]
            )
        }
        return token
    }

    /// What a token name may be, as said to someone who gave another.
    public static let nameRule = "a token name is 1 to 64 of a-z, 0-9, '-', '_' and '.', such as ci-previews"

    /// Whether `name` may name a token (``nameRule``).
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_.".utf8.contains(byte)
            }
    }

    /// The stored tokens, oldest first.
    public func list() async throws -> [Info] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at, apps, expires_at FROM tokens ORDER BY id").map { row in
                let identity = Self.identity(row)
                return Info(
                    name: identity.name, createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    apps: identity.access.patterns, expiresAt: identity.expiresAt)
            }
        }
    }

    /// Deletes the token named `name`: requests with it are refused from now on.
    /// - Throws: ``Refusal`` when no token has that name, or it is the last one for every app
    ///   that has not expired (no one could then manage every app through the API).
    public func revoke(name: String) async throws {
        try await database.write { db in
            let tokens = try Row.fetchAll(db, sql: "SELECT name, apps, expires_at FROM tokens").map(Self.identity)
            guard tokens.contains(where: { $0.name == name }) else {
                throw Refusal(description: "no token named \(name); list them with `minid tokens list`")
            }
            guard tokens.contains(where: { $0.name != name && $0.access == .every && !$0.hasExpired() }) else {
                throw Refusal(
                    description: "\(name) is the last token for every app that has not expired; create another "
                        + "without --app (minid tokens create NAME) before you revoke it")
            }
            try db.execute(sql: "DELETE FROM tokens WHERE name = ?", arguments: [name])
        }
    }

    /// Who `token` is, if it is one of the stored tokens (expired or not: the caller says
    /// which it met).
    public func verify(_ token: String) async throws -> Identity? {
        let presented = Array(Self.hash(token).utf8)
        let tokens = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT name, hash, apps, expires_at FROM tokens").map { row in
                (hash: row["hash"] as String, identity: Self.identity(row))
            }
        }
        var match: Identity?
        for token in tokens where Self.constantTimeEqual(Array(token.hash.utf8), presented) {
            match = token.identity
        }
        return match
    }

    /// The identity stored in a row of `tokens`. Patterns were validated when the token was
    /// made; one that no longer is (a hand-edited row) matches nothing.
    private static func identity(_ row: Row) -> Identity {
        let patterns: [AppPattern]? = (row["apps"] as String?).map { text in
            text.split(separator: " ").compactMap { try? AppPattern(String($0)) }
        }
        return Identity(
            name: row["name"], access: patterns.map { .matching($0) } ?? .every,
            expiresAt: (row["expires_at"] as Double?).map { Date(timeIntervalSince1970: $0) })
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
