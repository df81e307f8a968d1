import Foundation
import GRDB

/// The SQLite database of mini, in WAL mode, shared by the API, the proxy and the worker
/// processes. Writes go through `BEGIN IMMEDIATE` transactions so that two processes never
/// upgrade a read lock into a write lock at the same time (which SQLite answers with BUSY).
public struct MiniDatabase: Sendable {
    /// The connection pool: one writer, concurrent readers.
    public let pool: DatabasePool
    /// The file's path.
    public let path: String

    /// Opens (creating if needed) the database at `path` and runs the migrations.
    public init(path: String) throws {
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: Self.configuration())
        try Self.migrator.migrate(pool)
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction and commits it.
    public func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// Runs `body` on a read-only snapshot.
    public func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws -> T {
        try pool.read(body)
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

    init(path: String) throws {
        var configuration = MiniDatabase.configuration()
        configuration.readonly = true
        queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// The current data version; compare two readings to learn whether anything changed.
    ///
    /// Runs outside any transaction, on a cached statement: SQLite starts the read by
    /// itself, and a waiting worker asks every few milliseconds.
    public func version() throws -> Int {
        try queue.inDatabase { db in try Int.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? 0 }
    }

    /// Returns once the database changed after `since`, or after `timeout`, checking every
    /// `interval`. Returns the version it saw last.
    public func waitForChange(
        since: Int, timeout: Duration, interval: Duration = .milliseconds(10)
    ) async throws -> Int {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let current = try version()
            if current != since || ContinuousClock.now >= deadline { return current }
            try await Task.sleep(for: interval)
        }
    }
}
