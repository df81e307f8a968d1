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

extension MiniDatabase {
    /// Writes a copy of the database as of one moment to `destination` while every process
    /// goes on using it (SQLite's online backup). The copy is one self-contained file (no
    /// WAL), mode 0600 since it holds every app's environment, checked (`quick_check`) and
    /// synced before it takes its name: a failure leaves nothing at `destination`.
    /// - Parameter replacing: whether an existing file at `destination` may be replaced.
    public func backup(to destination: String, replacing: Bool) throws -> BackupSummary {
        if !replacing && FileManager.default.fileExists(atPath: destination) {
            throw DataDirectory.Failure("\(destination) exists: name a new file, or pass --force to replace it")
        }
        let partial = destination + ".partial"
        unlink(partial)
        let descriptor = open(partial, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw DataDirectory.Failure(partial, errno, "create") }
        close(descriptor)
        do {
            let copy = try DatabaseQueue(path: partial)
            try pool.backup(to: copy)
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try copy.close()
            let summary = try Self.summary(ofCopy: partial)
            try Self.sync(partial)
            guard rename(partial, destination) == 0 else { throw DataDirectory.Failure(destination, errno, "write") }
            DataDirectory.syncFolder((destination as NSString).deletingLastPathComponent)
            return summary
        } catch {
            unlink(partial)
            throw error
        }
    }

    /// Checks that the file at `path` is a whole mini database and says what it holds.
    /// - Throws: ``DataDirectory/Failure`` when it is not one, or is damaged.
    public static func summary(ofCopy path: String) throws -> BackupSummary {
        guard access(path, R_OK) == 0 else {
            throw DataDirectory.Failure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        var configuration = Configuration()
        configuration.readonly = true
        let notMini = DataDirectory.Failure("\(path) is not a mini database (or a backup of one)")
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                let findings = try String.fetchAll(db, sql: "PRAGMA quick_check(5)")
                guard findings == ["ok"] else { throw damaged(path, findings: findings) }
                guard try db.tableExists("installation"), try db.tableExists("apps"),
                    let installation = try String.fetchOne(db, sql: "SELECT id FROM installation")
                else { throw notMini }
                func count(_ table: String) throws -> Int {
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0
                }
                var status = stat()
                return BackupSummary(
                    installation: installation, apps: try count("apps"), releases: try count("releases"),
                    tokens: try count("tokens"), bytes: stat(path, &status) == 0 ? Int64(status.st_size) : 0)
            }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            throw notMini
        }
    }

    /// Syncs the file at `path` to disk.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DataDirectory.Failure(path, errno, "open") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw DataDirectory.Failure(path, errno, "sync") }
    }
}
