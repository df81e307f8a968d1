import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
    /// - Throws: ``Failure`` naming the folder and the system's reason (permission denied,
    ///   a read-only file system) with what to do.
    public func create() throws {
        for path in [root, uploadsPath, logsPath] {
            if mkdir(path, 0o700) != 0, errno != EEXIST {
                // Its parents too, as `mkdir -p`; then the same errors as a last try.
                _ = try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw Failure(path, errno, "make") }
            }
            var status = stat()
            guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
                throw Failure("\(path) is not a folder: move it aside, or pass another --data-dir")
            }
            guard chmod(path, 0o700) == 0 else { throw Failure(path, errno, "make private (mode 0700)") }
        }
    }

    /// Makes `folder` (and its parents) private if it is missing: a sub-folder removed while
    /// minid runs (a clean-up by hand) is made again by the next file written there.
    public static func remakeFolderIfRemoved(_ folder: String) {
        try? FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Refuses to start a new installation over an earlier one's files: a folder that holds
    /// `admin.token` but whose database is missing or empty (restored in part, or emptied)
    /// would otherwise get a new database, a new admin token over the old one's file, and a
    /// new installation id, leaving the old apps' containers to nobody.
    /// - Throws: ``Failure`` with what to do; also when the database cannot be looked at.
    public func requireDatabaseOrNewFolder() throws {
        guard try databaseFile() != .holdingData, access(adminTokenPath, F_OK) == 0 else { return }
        throw Failure(
            "\(root) holds admin.token from an earlier start, but its database (mini.sqlite) is missing or empty: "
                + "restore mini.sqlite from a backup, or move the folder aside to start afresh")
    }

    /// Prepares the folder for a role of minid and opens its database: refuses an earlier
    /// start's folder without its database (``requireDatabaseOrNewFolder()``) before touching
    /// it, makes the folder and sub-folders (``create()``), then opens the database
    /// (``openDatabase()``).
    public func prepareAndOpenDatabase() throws -> MiniDatabase {
        try requireDatabaseOrNewFolder()
        try create()
        return try openDatabase()
    }

    /// Opens the folder's database, made if missing, and checks it with SQLite's integrity
    /// check: a damaged database stops the start, so that a supervisor sees it, instead of
    /// failing every request. Holds the folder's use lock (``holdUseLock()``) first.
    public func openDatabase() throws -> MiniDatabase {
        try holdUseLock()
        let database = try MiniDatabase(path: databasePath)
        try database.checkIntegrity()
        return database
    }

    /// What the folder's database file is, before it is opened.
    public enum DatabaseFile: Sendable, Equatable {
        case missing, empty, holdingData
    }

    /// What the folder's database file is, without opening (or making) it.
    /// - Throws: ``Failure`` when it cannot be looked at.
    public func databaseFile() throws -> DatabaseFile {
        var status = stat()
        guard stat(databasePath, &status) == 0 else {
            guard errno == ENOENT else { throw Failure(databasePath, errno, "read") }
            return .missing
        }
        return status.st_size > 0 ? .holdingData : .empty
    }

    /// A data folder minid cannot use, and what to do about it.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String

        public init(_ description: String) { self.description = description }

        /// `path` could not be `operation`d because of `code` (an `errno`).
        public init(_ path: String, _ code: Int32, _ operation: String) {
            let reason = String(cString: strerror(code))
            let advice =
                switch code {
                case EACCES, EPERM: "run minid as the folder's owner, or pass a --data-dir it may write"
                case EROFS: "the file system is read-only: pass a --data-dir on a writable one"
                case ENOSPC: "the disk is full: free space or pass a --data-dir on another disk"
                default: "check the folder, or pass another --data-dir"
                }
            description = "cannot \(operation) \(path): \(reason); \(advice)"
        }
    }
}
