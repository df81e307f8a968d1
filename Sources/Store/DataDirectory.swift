import Foundation

/// The folder that holds everything `minid` keeps: the database, uploads and build logs.
///
/// ```
/// <root>/mini.sqlite     apps, releases, routes, env, tokens, jobs
/// <root>/mini.sqlite-migrate.lock  held while a process migrates the database
/// <root>/uploads/        <job>.tar.gz build contexts, deleted once their job ends
/// <root>/logs/           <job>.log build logs
/// <root>/admin.token     the first admin token, mode 0600
/// <root>/proxy.sock      the proxy's control socket
/// <root>/serve.lock      held by the `minid serve` or `minid api` running on the folder
/// ```
public struct DataDirectory: Sendable, Equatable {
    /// The folder's absolute path.
    public let root: String

    public init(_ root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    public var databasePath: String { root + "/mini.sqlite" }
    public var uploadsPath: String { root + "/uploads" }
    public var logsPath: String { root + "/logs" }
    public var adminTokenPath: String { root + "/admin.token" }
    /// The proxy's control socket (see `ProxyControlServer`), which workers ask before they
    /// stop an old release.
    public var proxyControlSocketPath: String { root + "/proxy.sock" }

    /// Where the build context of `job` is kept until the job ends.
    public func uploadPath(job: Int64) -> String { "\(uploadsPath)/\(job).tar.gz" }
    /// Where the build log of `job` is written.
    public func logPath(job: Int64) -> String { "\(logsPath)/\(job).log" }

    /// Creates the folder and its sub-folders if they are missing, and makes them private
    /// (mode 0700) even when they already existed with another mode (systemd's
    /// `StateDirectory=` makes 0755): the database inside holds every app's environment.
    public func create() throws {
        let manager = FileManager.default
        for path in [root, uploadsPath, logsPath] {
            try manager.createDirectory(
                atPath: path, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        }
    }
}
