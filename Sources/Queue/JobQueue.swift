import Foundation
import GRDB
import MiniCore
import Store

/// The build queue: jobs in SQLite, claimed by workers with leases and fenced tokens.
///
/// States: `queued → running → succeeded | failed | cancelled`. A claim is one
/// `BEGIN IMMEDIATE` transaction; every later write of the holder checks
/// `state = 'running' AND lease_token = ?`, and that no cancel was requested, and fails with
/// ``QueueError/leaseLost(_:)`` otherwise. A job's end can be decided before its worker
/// reports it: by a cancel request, or by publishing its release (``endIfDecided(_:)``).
public struct JobQueue: Sendable {
    /// Settings of the queue, with their defaults.
    public struct Configuration: Sendable {
        /// How long a claim is valid without a heartbeat. Default 30 s.
        public var leaseDuration: TimeInterval = 30
        /// Tries per job, for platform errors. Default 3.
        public var maxAttempts: Int = 3
        /// A job whose lease expired this many times fails: a build that keeps killing its
        /// worker must not loop forever. Default 3.
        public var maxLeaseExpiries: Int = 3
        /// The first retry waits this long, each next one twice as long. Default 2 s.
        public var retryBackoff: TimeInterval = 2

        public init() {}
    }

    public let database: MiniDatabase
    public let configuration: Configuration

    public init(database: MiniDatabase, configuration: Configuration = .init()) {
        self.database = database
        self.configuration = configuration
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// 128 random bits as 32 hex digits, from the system's generator (`getrandom`), without
    /// `UUID`, which opens and reads `/dev/urandom` for each one here.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return [generator.next(), generator.next()].map { (half: UInt64) in
            let digits = String(half, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}

extension JobQueue {
    /// Queues a deploy of `app`. In the same transaction, `placeUpload` moves the saved build
    /// context to its final place for the new job id and returns that path; the job becomes
    /// visible to workers only with it. Older queued deploys of the same app end `cancelled`
    /// with reason `superseded`: only the newest runs. `dockerfile` is the Dockerfile to build
    /// with, relative to the context, when not `Dockerfile`.
    public func enqueue(
        app: AppName, uploadBytes: Int64, dockerfile: String? = nil, requestedBy: String? = nil,
        placeUpload: @escaping @Sendable (JobID) throws -> String
    ) async throws -> JobInfo {
        let maxAttempts = configuration.maxAttempts
        return try await database.write { db in
            let now = Self.now()
            try AppStore.ensureApp(app, in: db)
            try Self.supersedeQueued(app: app.rawValue, kind: .deploy, now: now, in: db)
            try db.executeCached(
                """
                INSERT INTO jobs (app, state, max_attempts, run_at, queued_at, upload_bytes, dockerfile, requested_by)
                VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)
                """,
                arguments: [app.rawValue, maxAttempts, now, now, uploadBytes, dockerfile, requestedBy]
            )
            let id = db.lastInsertedRowID
            let path = try placeUpload(id)
            let record = try JobRecord.fetchOne(
                db.cachedStatement(sql: "UPDATE jobs SET upload_path = ? WHERE id = ? RETURNING \(JobRecord.columns)"),
                arguments: [path, id]
            )
            return try record!.info()
        }
    }

    /// One job by id.
    public func job(_ id: JobID) async throws -> JobInfo {
        guard
            let record = try await database.read({ db in
                try JobRecord.fetchOne(db, sql: "SELECT \(JobRecord.columns) FROM jobs WHERE id = ?", arguments: [id])
            })
        else {
            throw QueueError.jobNotFound(id)
        }
        return try record.info()
    }

    /// Jobs, newest first, of the apps `access` allows, optionally of one app and in one state.
    public func jobs(
        app: AppName? = nil, access: AppAccess = .every, state: JobState? = nil, limit: Int = 100
    ) async throws -> [JobInfo] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let app {
            conditions.append("app = ?")
            arguments += [app.rawValue]
        }
        if let patterns = access.patterns {
            // An app pattern is GLOB syntax: its only special character is `*`.
            conditions.append("(" + (["0"] + patterns.map { _ in "app GLOB ?" }).joined(separator: " OR ") + ")")
            arguments += StatementArguments(patterns.map(\.rawValue))
        }
        if let state {
            conditions.append("state = ?")
            arguments += [state.rawValue]
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        let sql = "SELECT \(JobRecord.columns) FROM jobs \(filter) ORDER BY id DESC LIMIT ?"
        let finalArguments = arguments
        return try await database.read { db in
            try JobRecord.fetchAll(db, sql: sql, arguments: finalArguments).map { try $0.info() }
        }
    }

    /// Whether `app` has a job in one of `states` (by default: one not ended yet).
    public func hasJob(app: AppName, in states: [JobState] = [.queued, .running]) async throws -> Bool {
        try await database.read { db in try Self.hasJob(app: app, in: states, db: db) }
    }

    /// ``hasJob(app:in:)`` within a read or transaction of the caller's, optionally of one
    /// `kind` only.
    public static func hasJob(app: AppName, in states: [JobState], kind: JobKind? = nil, db: Database) throws -> Bool {
        let kindFilter = kind == nil ? "" : " AND kind = ?"
        return try Bool.fetchOne(
            db,
            sql:
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE app = ? AND state IN (\(databaseQuestionMarks(count: states.count)))\(kindFilter))",
            arguments: StatementArguments([app.rawValue] + states.map(\.rawValue) + [kind?.rawValue].compactMap { $0 }))
            ?? false
    }

    /// Cancels a job. A queued one ends at once. A running one is asked to stop: the fence
    /// refuses its worker's writes from now on, the worker stops at its next lease check,
    /// removes what it started (its heartbeats keep the lease meanwhile) and only then ends
    /// the job `cancelled` (``endIfDecided(_:)``), so that the app takes no other job while
    /// that clean-up runs. A job whose worker died ends `cancelled` at the first rescue after
    /// its lease expired. A job already cancelled is answered as it is. `reason` becomes the
    /// job's reason; nil for a user's cancel (``cancelledByUser``).
    /// - Throws: ``QueueError/jobFinished(_:_:)`` when it ended another way;
    ///   ``QueueError/jobReleased(_:app:release:)`` once the job has published its release:
    ///   that release serves, and only a rollback undoes it.
    public func cancel(_ id: JobID, reason: String? = nil) async throws -> JobInfo {
        try await database.write { db in
            guard
                let record = try JobRecord.fetchOne(
                    db, sql: "SELECT \(JobRecord.columns) FROM jobs WHERE id = ?", arguments: [id])
            else {
                throw QueueError.jobNotFound(id)
            }
            let state = JobState(rawValue: record.state) ?? .failed
            // Cancelling a cancelled job again asks for what is so: as `docker stop` of a
            // stopped container, not an error.
            if state == .cancelled { return try record.info() }
            guard !state.isFinal else { throw QueueError.jobFinished(id, state) }
            let sql: String
            if state == .queued {
                sql = """
                    UPDATE jobs SET state = 'cancelled', reason = COALESCE(?, '\(Self.cancelledByUser)'), finished_at = ?
                    WHERE id = ? RETURNING \(JobRecord.columns)
                    """
            } else if let release = record.release {
                throw QueueError.jobReleased(id, app: record.app, release: release)
            } else {
                sql = """
                    UPDATE jobs SET cancel_reason = COALESCE(cancel_reason, ?),
                        cancel_requested_at = COALESCE(cancel_requested_at, ?), reason = 'cancelling'
                    WHERE id = ? RETURNING \(JobRecord.columns)
                    """
            }
            let updated = try JobRecord.fetchOne(db, sql: sql, arguments: [reason, Self.now(), id])
            return try updated!.info()
        }
    }

    /// The reason of a job a user cancelled (`mini cancel`).
    public static let cancelledByUser = "cancelled by user"

    /// Queues a `release` job: the app's current image (or that of `change.rollbackTo`)
    /// released again with the app's settings. Older queued release jobs of the app that are
    /// not rollbacks end `superseded`: they would read the same, newer settings anyway; a
    /// rollback names its own image, so it stays.
    public func enqueueRelease(app: AppName, change: ReleaseChange, requestedBy: String? = nil) async throws -> JobInfo
    {
        let payload = String(decoding: try JSONEncoder().encode(change), as: UTF8.self)
        return try await database.write { db in
            let now = Self.now()
            try Self.supersedeQueued(app: app.rawValue, kind: .release, now: now, in: db)
            let record = try JobRecord.fetchOne(
                db,
                sql: """
                    INSERT INTO jobs (app, kind, payload, state, max_attempts, run_at, queued_at, requested_by)
                    VALUES (?, 'release', ?, 'queued', ?, ?, ?, ?) RETURNING \(JobRecord.columns)
                    """,
                arguments: [app.rawValue, payload, configuration.maxAttempts, now, now, requestedBy]
            )
            return try record!.info()
        }
    }

    /// Ends the app's queued jobs of `kind` `superseded`, as a newer job of that kind is
    /// queued: it would do the same with newer input. A queued rollback stays: it names its
    /// own image.
    static func supersedeQueued(app: String, kind: JobKind, now: Double, in db: Database) throws {
        try db.executeCached(
            """
            UPDATE jobs SET state = 'cancelled', reason = 'superseded', finished_at = ?
            WHERE app = ? AND kind = ? AND state = 'queued' AND json_extract(payload, '$.rollbackTo') IS NULL
            """,
            arguments: [now, app, kind.rawValue]
        )
    }

    /// Whether a newer job of the same app, queued or running, makes `job` pointless should it
    /// go back to the queue: a deploy is superseded by a newer deploy; a settings change (env,
    /// scale, limits) by any newer job, which reads the same settings; a rollback by a newer
    /// deploy or rollback. A newer job of another kind runs after it and builds on its result.
    static func isSuperseded(_ job: JobID, in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT EXISTS (
                        SELECT 1 FROM jobs old, jobs newer INDEXED BY jobs_by_app
                        WHERE old.id = ? AND newer.app = old.app AND newer.id > old.id
                          AND newer.state IN ('queued', 'running')
                          AND CASE
                            WHEN old.kind = 'deploy' THEN newer.kind = 'deploy'
                            WHEN json_extract(old.payload, '$.rollbackTo') IS NULL THEN 1
                            ELSE newer.kind = 'deploy' OR json_extract(newer.payload, '$.rollbackTo') IS NOT NULL
                          END)
                    """
            ),
            arguments: [job]
        ) ?? false
    }

    /// Writes the history row of the attempt a running job is in, from the job's row: call
    /// it before the write that ends the attempt. Does nothing for a job that is not running.
    ///
    /// An attempt gets its `job_attempts` row when it ends, not when it starts: until then
    /// the job's own row holds its attempt, owner and start, and the claim, the hottest
    /// transaction, writes one page less.
    static func endAttempt(job: JobID, outcome: String, in db: Database) throws {
        try db.executeCached(
            """
            INSERT OR REPLACE INTO job_attempts (job_id, attempt, owner, started_at, ended_at, outcome)
            SELECT id, attempt, lease_owner, started_at, ?, ? FROM jobs WHERE id = ? AND state = 'running'
            """,
            arguments: [now(), outcome, job]
        )
    }
}
