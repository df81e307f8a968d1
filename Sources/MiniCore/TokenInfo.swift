import Foundation

/// `GET /v1/whoami`: the token a request came with, as `mini whoami` shows it.
public struct TokenInfo: Codable, Sendable, Equatable {
    /// The token's name (`minid tokens create NAME`).
    public var name: String
    /// The app patterns it is limited to; null when it may act on every app.
    public var apps: [AppPattern]?
    /// When it stops working; null when it does not expire.
    public var expiresAt: Date?

    public init(name: String, apps: [AppPattern]?, expiresAt: Date?) {
        self.name = name
        self.apps = apps
        self.expiresAt = expiresAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        // null, not left out: scripts read "every app" and "never" from it.
        try container.encode(apps, forKey: .apps)
        try container.encode(expiresAt, forKey: .expiresAt)
    }

    private enum CodingKeys: String, CodingKey { case name, apps, expiresAt }
}
