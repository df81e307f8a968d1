/// The version of mini, shared by `mini` and `minid`.
public enum MiniVersion {
    public static let current = "0.1.0"
}

/// `GET /v1/version` answer: the server's version.
public struct VersionInfo: Codable, Sendable, Equatable {
    public var version: String
    public init(version: String) { self.version = version }
}
