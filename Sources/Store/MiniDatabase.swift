import Foundation
import GRDB
import MiniCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The SQLite database of mini, in WAL mode, shared by the API, the proxy and the worker
/// processes. Writes go through `BEGIN IMMEDIATE` transactions so that two processes never
/// upgrade a read lock into a write lock at the same time (which SQLite answers with BUSY).
public struct MiniDatabase: Sendable {
    /// The connection pool: one writer, concurrent readers.
    public let pool: DatabasePool
    /// The file's path.
    public let path: String
    /// This installation, by the random id the migrations made: the value of the
    /// `mini.installation` label on every container it creates.
    public let installation: Installation

    /// Opens (creating if needed) the database at `path` and runs the migrations.
    public init(path: String) throws {
        self.path = path
        self.pool = try Self.holdingMigrationLock(of: path) {
            try Self.restrictToOwner(path)
            do {
                let pool = try DatabasePool(path: path, configuration: Self.configuration())
                try Self.migrator.migrate(pool)
                return pool
            } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
                throw Self.damaged(path, findings: [error.message ?? "\(error)"])
            }
        }
        guard let id = try pool.read({ db in try String.fetchOne(db, sql: "SELECT id FROM installation") }) else {
            throw DatabaseError(message: "the installation table of \(path) is empty; its id was removed")
        }
        self.installation = Installation(id: id)
    }

    /// Makes the database file mode 0600 (creating it empty if missing, which SQLite takes
    /// for an empty database), and its WAL and shared-memory files too: it holds every app's
    /// environment, which the data folder's mode alone would not keep from a copy or backup
    /// made with looser modes. SQLite gives the files it creates beside it the database's mode.
    private static func restrictToOwner(_ path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DataDirectory.Failure(path, errno, "open") }
        close(descriptor)
        for file in [path, path + "-wal", path + "-shm"] where chmod(file, 0o600) != 0 && errno != ENOENT {
            throw DataDirectory.Failure(file, errno, "make private (mode 0600)")
        }
    }

    /// Runs `body` holding an exclusive `flock` on `<path>-migrate.lock` (made mode 0600 if
    /// missing). GRDB reads which migrations are applied outside the transactions that apply
    /// them, so processes opening an older database at once (the units of a systemd start)
    /// would each run the missing ones, all but the first failing. The lock goes with the
    /// descriptor, also when the process is killed.
    private static func holdingMigrationLock<T>(of path: String, _ body: () throws -> T) throws -> T {
        let descriptor = open(path + "-migrate.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw DataDirectory.Failure(path + "-migrate.lock", errno, "open") }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        return try body()
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction on the writer connection and commits
    /// it; rolls back if `body` throws.
    ///
    /// The transaction runs on GRDB's writer queue, not on the caller's thread: SQLite blocks
    /// while another process holds the write lock (up to the busy timeout, 10 s), and a commit
    /// may checkpoint the WAL (fsyncs), which must not hold one of the few threads of Swift's
    /// cooperative pool. It is not cancelled with the calling task (GRDB's `async` accessors
    /// are): the clean-up a cancelled job does is made of such writes.
    ///
    /// `BEGIN` and `COMMIT` run on prepared statements the connection keeps: GRDB's
    /// `inTransaction` compiles both for every transaction, which cost a queue worker about
    /// 5% of a claim+complete.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.asyncWriteWithoutTransaction { db in
                continuation.resume(with: Result { try Self.inImmediateTransaction(db, body) })
            }
        }
    }

    private static func inImmediateTransaction<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body(db)
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            // SQLite may have rolled back already (an I/O error, a full disk).
            if db.isInsideTransaction { try? db.rollback() }
            throw error
        }
    }

    /// Whether `error` is SQLite's answer to a full disk (`SQLITE_FULL`), which rolled back
    /// the write it failed.
    public static func isDiskFull(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_FULL
    }

    /// Checks the file with SQLite's `PRAGMA quick_check` (milliseconds for mini's sizes).
    /// - Throws: ``DataDirectory/Failure`` with SQLite's first findings and what to do.
    public func checkIntegrity() throws {
        let findings: [String]
        do {
            findings = try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }
        } catch let error as DatabaseError {
            findings = [error.message ?? "\(error)"]
        }
        guard findings != ["ok"] else { return }
        throw Self.damaged(path, findings: findings)
    }

    static func damaged(_ path: String, findings: [String]) -> DataDirectory.Failure {
        DataDirectory.Failure(
            "\(path) is damaged (SQLite: \(findings.joined(separator: "; "))): stop every minid on it, "
                + "then restore it from a backup, or try sqlite3 \(path) .recover")
    }

    /// Runs `body` on a read-only snapshot, on one of GRDB's reader connections (as
    /// ``write(_:)``, off the cooperative pool and not cancelled with the calling task).
    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.asyncRead { access in
                continuation.resume(with: Result { try body(access.get()) })
            }
        }
    }

    /// A separate single connection that reports when any process committed a change,
    /// by `PRAGMA data_version`, without touching a table.
    public func makeChangeObserver() throws -> ChangeObserver {
        try ChangeObserver(path: path)
    }

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Checkpoint every 8,000 WAL pages (32 MiB) rather than SQLite's 1,000: each
            // checkpoint costs two fsyncs, and the queue rewrites the same few pages, so
            // fewer checkpoints also copy fewer pages. Measured: +10–15% claim+complete.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 8000")
        }
        return configuration
    }
}

/// Watches a database file for commits made by any connection in any process.
///
/// `PRAGMA data_version` changes on this connection whenever another connection commits;
/// reading it costs a few microseconds and takes no lock on any table.
public final class ChangeObserver: Sendable {
    private let queue: DatabaseQueue
    /// Writes to the WAL file, where every commit goes; nil where they cannot be watched.
    private let writes: FileWriteSignal?

    /// How often a waiter that watches the WAL file reads the version anyway.
    static let watchedInterval = Duration.milliseconds(100)

    init(path: String) throws {
        var configuration = MiniDatabase.configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
        // The WAL file exists once a connection in WAL mode read the database (this one did
        // not necessarily: it is opened read-only, so reading makes it if missing).
        _ = try queue.inDatabase { db in try Int.fetchOne(db, sql: "PRAGMA data_version") }
        writes = FileWriteSignal(path: path + "-wal")
    }

    /// The current data version; compare two readings to learn whether anything changed.
    ///
    /// Runs outside any transaction, on a cached statement: SQLite starts the read by
    /// itself, and a waiting worker asks every few milliseconds.
    public func version() throws -> Int {
        try queue.inDatabase { db in try Int.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0 }
    }

    /// After a write to the WAL file that `data_version` does not show yet: SQLite writes the
    /// commit's frames, then the index in the memory-mapped `-shm` file, which inotify does
    /// not see. Checks again a few times, 1 to 8 ms apart, rather than wait for the next write.
    private func seeCommitOfWrite(since: Int) async throws {
        for pause in [1, 2, 4, 8] {
            guard try version() == since else { return }
            try await Task.sleep(for: .milliseconds(pause))
        }
    }

    /// Returns once the database changed after `since`, or after `timeout`; returns the
    /// version it saw last. It checks when the WAL file is written (at most
    /// ``watchedInterval`` apart), or every `interval` where writes cannot be watched.
    public func waitForChange(
        since: Int, timeout: Duration, interval: Duration = .milliseconds(10)
    ) async throws -> Int {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let current = try version()
            let now = ContinuousClock.now
            if current != since || now >= deadline { return current }
            if let writes, writes.isWatching {
                if await writes.wait(upTo: min(Self.watchedInterval, deadline - now)) {
                    try await seeCommitOfWrite(since: since)
                }
                try Task.checkCancellation()
            } else {
                try await Task.sleep(for: interval)
            }
        }
    }
}
