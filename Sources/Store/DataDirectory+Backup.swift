import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a backup holds, for the operator to see at a glance.
public struct BackupSummary: Sendable, Codable, Equatable {
    /// The installation the database belongs to (the `mini.installation` label of its containers).
    public var installation: String
    public var apps: Int
    public var releases: Int
    public var tokens: Int
    /// The size of the backup file.
    public var bytes: Int64
}

extension DataDirectory {
    /// Writes a copy of the folder's database as of one moment to `destination` while every
    /// process goes on using it (SQLite's online backup), through a read-only connection: the
    /// database is not migrated (a backup taken by a newer minid before the service restarts
    /// is of the schema the running one uses). The copy is one self-contained file (no WAL),
    /// mode 0600 since it holds every app's environment, checked and synced before it takes
    /// its name: a failure leaves nothing at `destination`.
    /// - Parameter replacing: whether an existing file at `destination` may be replaced.
    public func backup(to destination: String, replacing: Bool) throws -> BackupSummary {
        guard try databaseFile() == .holdingData else {
            throw Failure("no mini database in \(root): pass the --data-dir minid runs on")
        }
        try checkBackupDestination(destination, replacing: replacing)
        try holdUseLock()
        let partial = destination + ".partial"
        do {
            do {
                try Self.copyDatabase(at: databasePath, to: partial)
            } catch let failure as Failure {
                throw Failure("cannot write the backup to \(destination): \(failure.description)")
            }
            let summary = try Self.summary(ofDatabaseAt: partial)
            guard rename(partial, destination) == 0 else {
                throw Failure("cannot write the backup to \(destination): \(String(cString: strerror(errno)))")
            }
            Self.syncFolder(Self.folder(of: destination))
            return summary
        } catch {
            Self.removeDatabase(at: partial)
            throw error
        }
    }

    /// Refuses a destination that is not a new file or (when `replacing`) a regular file of
    /// its own: a device, a link, a folder, or a file of the data folder.
    private func checkBackupDestination(_ destination: String, replacing: Bool) throws {
        var status = stat()
        if lstat(destination, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFREG else {
                throw Failure("\(destination) is not a regular file (a folder, a link or a device): name a new file")
            }
            guard replacing else {
                throw Failure("\(destination) exists: name a new file, or pass --force to replace it")
            }
        }
        let folder = URL(fileURLWithPath: Self.folder(of: destination)).resolvingSymlinksInPath().path
        let data = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        guard folder != data && !folder.hasPrefix(data + "/") else {
            throw Failure("\(destination) is inside the data folder \(root): keep backups elsewhere")
        }
    }

    /// Makes the backup at `backup` this folder's database, with every minid on the folder
    /// stopped (it holds the folder's use lock alone meanwhile).
    ///
    /// The backup is copied through SQLite (what its WAL holds included, a link followed) into
    /// a new file beside the database, synced; then the database there (with its WAL, which
    /// holds committed changes of its own) moves aside to `mini.sqlite.before-restore-<time>`
    /// and the copy takes its name. A failure in between puts the database back. The restored
    /// database is opened once, which brings an older backup's schema up to date, and its job
    /// ids continue after every id the folder has seen, so that no build log or upload of a
    /// forgotten job is taken for a new one's.
    /// - Parameter acceptingOtherInstallation: whether a backup of another installation may
    ///   replace a database that has apps (their containers would be left to nobody).
    public func restore(from backup: String, acceptingOtherInstallation: Bool) throws -> Restored {
        let summary = try Self.summary(ofDatabaseAt: backup)
        try create()
        try holdUseLockAlone()
        try lockForServe()  // also a minid from before the use lock
        let current = try databaseFile() == .holdingData ? try? Self.summary(ofDatabaseAt: databasePath) : nil
        if let current, current.installation != summary.installation, current.apps > 0, !acceptingOtherInstallation {
            throw Failure(
                "\(backup) is a backup of another installation (\(summary.installation)) than the one in \(root) "
                    + "(\(current.installation)), whose apps' containers would be left to nobody: "
                    + "restore it into an empty --data-dir, or pass --force")
        }
        let lastJob = max(highestJobIDOfFiles(), (try? Self.jobSequence(ofDatabaseAt: databasePath)) ?? 0)
        let incoming = databasePath + ".restoring"
        do {
            try Self.copyDatabase(at: backup, to: incoming)
        } catch {
            Self.removeDatabase(at: incoming)
            throw error
        }
        let aside = Self.unusedName(databasePath + ".before-restore-" + Self.timestamp())
        let previous = try Self.moveDatabase(from: databasePath, to: aside)
        guard rename(incoming, databasePath) == 0 else {
            let failure = Failure(databasePath, errno, "write")
            Self.removeDatabase(at: incoming)
            _ = try? Self.moveDatabase(from: aside, to: databasePath)
            throw failure
        }
        Self.syncFolder(root)
        let opened: MiniDatabase
        do {
            opened = try MiniDatabase(path: databasePath)
            try opened.checkIntegrity()
        } catch {
            throw Failure(
                "the restored database could not be opened (\(error))"
                    + (previous ? "; the database before the restore is at \(aside)" : ""))
        }
        try Self.settleRestored(opened, jobsSeenUpTo: lastJob)
        return Restored(summary: summary, previous: previous ? aside : nil)
    }

    /// Makes the restored database safe to run: job ids go on after `lastJob`, and the jobs the
    /// backup caught queued or running end failed (their upload and build log may be another
    /// timeline's); then closes it, which checkpoints its WAL into the file.
    private static func settleRestored(_ database: MiniDatabase, jobsSeenUpTo lastJob: Int64) throws {
        try database.pool.write { db in
            // A database that never had a job has no row for them yet.
            try db.execute(
                sql: """
                    INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs', 0
                    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs');
                    UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'jobs'
                    """, arguments: [lastJob])
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'failed', reason = 'restored', finished_at = ?,
                        error = 'the database was restored from a backup taken while this job was queued or running: deploy again',
                        lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
                    WHERE state IN ('queued', 'running')
                    """, arguments: [Date().timeIntervalSince1970])
        }
        try database.pool.close()
    }

    /// What a restore did.
    public struct Restored: Sendable {
        /// What the restored database holds.
        public var summary: BackupSummary
        /// Where the database it replaced went (with its `-wal` and `-shm` beside it), nil
        /// when the folder had none.
        public var previous: String?
    }

    /// Checks that the file at `path` is a whole mini database and says what it holds.
    /// - Throws: ``Failure`` when it cannot be read, is not one, or is damaged.
    public static func summary(ofDatabaseAt path: String) throws -> BackupSummary {
        guard access(path, R_OK) == 0 else {
            throw Failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw Failure("\(path) is not a file (a folder or a device): name the backup file")
        }
        let bytes = Int64(status.st_size)
        let notMini = Failure("\(path) is not a mini database (or a backup of one)")
        do {
            return try reading(path) { db in
                let findings = try String.fetchAll(db, sql: "PRAGMA quick_check(5)")
                guard findings == ["ok"] else { throw MiniDatabase.damaged(path, findings: findings) }
                guard try db.tableExists("installation"), try db.tableExists("apps"),
                    let installation = try String.fetchOne(db, sql: "SELECT id FROM installation")
                else { throw notMini }
                func count(_ table: String) throws -> Int {
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                return BackupSummary(
                    installation: installation, apps: try count("apps"), releases: try count("releases"),
                    tokens: try count("tokens"), bytes: bytes)
            }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw notMini
        }
    }

    // MARK: Parts

    /// Runs `body` on a read-only connection to the database at `path`, without migrating it.
    private static func reading<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        let queue = try readOnlyQueue(path)
        defer { try? queue.close() }
        return try queue.read(body)
    }

    /// A read-only connection to the database at `path`, which waits up to 10 s for a writer.
    private static func readOnlyQueue(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Copies the database at `source` (its WAL included) into a new file at `destination`
    /// by SQLite's online backup: one self-contained file (rollback journal), mode 0600, synced.
    private static func copyDatabase(at source: String, to destination: String) throws {
        unlink(destination)
        let descriptor = open(destination, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw Failure(destination, errno, "create") }
        close(descriptor)
        let from = try readOnlyQueue(source)
        defer { try? from.close() }
        let copy = try DatabaseQueue(path: destination)
        try from.backup(to: copy)
        try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try copy.close()
        let file = open(destination, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw Failure(destination, errno, "open") }
        defer { close(file) }
        guard fsync(file) == 0 else { throw Failure(destination, errno, "sync") }
    }

    /// Moves a database file and its WAL files, also a WAL left without its database (SQLite
    /// would replay it into the one that takes its place); says whether there was a database.
    private static func moveDatabase(from source: String, to target: String) throws -> Bool {
        let existed = access(source, F_OK) == 0
        for suffix in ["", "-wal", "-shm"] where rename(source + suffix, target + suffix) != 0 {
            guard errno == ENOENT else { throw Failure(source + suffix, errno, "move") }
        }
        return existed
    }

    /// Removes a database file and its WAL files.
    private static func removeDatabase(at path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// The highest job id that names a build log or an upload in the folder.
    private func highestJobIDOfFiles() -> Int64 {
        var highest: Int64 = 0
        for folder in [logsPath, uploadsPath] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                if let id = Int64(name.prefix { $0.isNumber }) { highest = max(highest, id) }
            }
        }
        return highest
    }

    /// The last job id the database at `path` handed out.
    private static func jobSequence(ofDatabaseAt path: String) throws -> Int64 {
        try reading(path) { db in
            try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'") ?? 0
        }
    }

    /// The folder of `path`, `.` for a bare file name.
    private static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// `name`, or `name-2`, `name-3`... when it is taken (two restores in one second).
    private static func unusedName(_ name: String) -> String {
        var candidate = name
        var number = 1
        while access(candidate, F_OK) == 0 || access(candidate + "-wal", F_OK) == 0 {
            number += 1
            candidate = "\(name)-\(number)"
        }
        return candidate
    }

    /// The time as `20261207T150501Z`, for file names.
    private static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withYear, .withMonth, .withDay, .withTime, .withTimeZone]
        return formatter.string(from: Date()).replacingOccurrences(of: ":", with: "")
    }
}
