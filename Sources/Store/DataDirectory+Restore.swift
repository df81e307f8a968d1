import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DataDirectory {
    /// What a restore did.
    public struct Restored: Sendable {
        /// What the restored database holds.
        public var summary: BackupSummary
        /// Where the database it replaced went (with its `-wal` and `-shm` beside it), nil
        /// when the folder had none.
        public var previous: String?
    }

    /// Makes the backup at `backup` this folder's database: the database there (with its WAL,
    /// which holds committed changes of its own) moves aside to
    /// `mini.sqlite.before-restore-<time>`, then the backup is copied in (mode 0600, synced)
    /// and opened once, which brings an older backup's schema up to date.
    ///
    /// Holds the folder's serve lock meanwhile, so a `minid serve` or `minid api` running on
    /// it is refused (``ServeLockHeld``); workers and proxies must be stopped too.
    /// - Parameter acceptingOtherInstallation: whether a backup of another installation may
    ///   replace this folder's database (its containers would be left to nobody).
    public func restore(from backup: String, acceptingOtherInstallation: Bool) throws -> Restored {
        let summary = try MiniDatabase.summary(ofCopy: backup)
        try create()
        try lockForServe()
        var previous: String?
        if try databaseFile() == .holdingData {
            // A damaged database (what a restore often mends) names no installation.
            if let current = try? MiniDatabase.summary(ofCopy: databasePath),
                current.installation != summary.installation, !acceptingOtherInstallation
            {
                throw Failure(
                    "\(backup) is a backup of another installation (\(summary.installation)) than the one in \(root) "
                        + "(\(current.installation)), whose apps' containers would be left to nobody: "
                        + "restore it into an empty --data-dir, or pass --force")
            }
            let aside = databasePath + ".before-restore-" + Self.timestamp()
            for suffix in ["", "-wal", "-shm"] where rename(databasePath + suffix, aside + suffix) != 0 {
                guard errno == ENOENT else { throw Failure(databasePath + suffix, errno, "move aside") }
            }
            previous = aside
        } else {
            for suffix in ["", "-wal", "-shm"] { unlink(databasePath + suffix) }
        }
        let incoming = databasePath + ".restoring"
        try FileManager.default.removeItemIfPresent(atPath: incoming)
        try FileManager.default.copyItem(atPath: backup, toPath: incoming)
        guard chmod(incoming, 0o600) == 0 else { throw Failure(incoming, errno, "make private (mode 0600)") }
        try MiniDatabase.sync(incoming)
        guard rename(incoming, databasePath) == 0 else { throw Failure(databasePath, errno, "write") }
        Self.syncFolder(root)
        _ = try openDatabase()
        return Restored(summary: summary, previous: previous)
    }

    /// The time as `20261207T150501Z`, for file names.
    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withTimeZone]
        return formatter.string(from: Date()).replacingOccurrences(of: ":", with: "")
    }
}

extension FileManager {
    /// Removes the item at `path`; a missing one is no error.
    fileprivate func removeItemIfPresent(atPath path: String) throws {
        guard fileExists(atPath: path) else { return }
        try removeItem(atPath: path)
    }
}
