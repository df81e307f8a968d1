import Foundation
import GRDB
import MiniCore

extension JobQueue {
    /// Extends the lease by ``Configuration/leaseDuration``, also once a cancel is requested:
    /// the worker removes what the job started under it, and the app takes no other job
    /// until then.
    /// - Throws: ``QueueError/leaseLost(_:)`` when the lease is no longer held.
    public func heartbeat(_ lease: Lease) async throws {
        let duration = configuration.leaseDuration
        try await database.write { db in
            let now = Self.now()
            try db.executeCached(
                """
                UPDATE jobs SET lease_expires_at = ?, heartbeat_at = ?
                WHERE id = ? AND state = 'running' AND lease_token = ?
                """,
                arguments: [now + duration, now, lease.job, lease.token]
            )
            guard db.changesCount == 1 else { throw QueueError.leaseLost(lease.job) }
        }
    }

    /// True while `lease` still holds its job and no one asked to cancel it; a cheap read for
    /// frequent checks.
    public func holds(_ lease: Lease) async throws -> Bool {
        try await database.read { db in try Self.holds(lease, in: db) }
    }

    private static func holds(_ lease: Lease, in db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs
                        WHERE id = ? AND state = 'running' AND lease_token = ? AND cancel_requested_at IS NULL)
                    """
            ),
            arguments: [lease.job, lease.token]
        ) ?? false
    }

    /// Runs `body` in a write transaction only while `lease` still holds its job and no one
    /// asked to cancel it, so that a worker that lost its lease can change nothing. Other
    /// processes cannot take the lease while `body` runs: the transaction holds SQLite's
    /// write lock.
    /// - Throws: ``QueueError/leaseLost(_:)`` without running `body` when the lease is gone.
    public func fenced<T: Sendable>(
        _ lease: Lease, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await database.write { db in
            guard try Self.holds(lease, in: db) else { throw QueueError.leaseLost(lease.job) }
            return try body(db)
        }
    }

    /// Runs `body` fenced (such as the worker switching the routes to `release`) and records
    /// that the job published `release`: from then on the job can only end `succeeded`,
    /// whatever its worker reports next (``endIfDecided(_:)``), and it can no longer be
    /// cancelled.
    public func publish<T: Sendable>(
        _ lease: Lease, release: Int, with body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await fenced(lease) { db in
            let published = try body(db)
            try db.executeCached("UPDATE jobs SET release = ? WHERE id = ?", arguments: [release, lease.job])
            return published
        }
    }

    /// Ends the job of `lease` if its end is already decided: `cancelled` when a user asked
    /// to cancel it, `succeeded` when it published its release. A worker calls it once it
    /// has stopped and cleaned up after losing the fence. Returns whether it ended the job.
    @discardableResult
    public func endIfDecided(_ lease: Lease) async throws -> Bool {
        try await database.write { db in try Self.endIfDecided(lease, in: db) }
    }

    /// For an end a worker reports: true when the job's end was already decided, and is now
    /// recorded; false when `lease` holds the job for the worker's report.
    /// - Throws: ``QueueError/leaseLost(_:)`` when `lease` holds the job no more.
    private static func endedAsDecided(_ lease: Lease, in db: Database) throws -> Bool {
        if try endIfDecided(lease, in: db) { return true }
        guard try holds(lease, in: db) else { throw QueueError.leaseLost(lease.job) }
        return false
    }

    private static func endIfDecided(_ lease: Lease, in db: Database) throws -> Bool {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT cancel_requested_at IS NOT NULL, cancel_reason, release FROM jobs
                        WHERE id = ? AND state = 'running' AND lease_token = ?
                        """
                ),
                arguments: [lease.job, lease.token]
            ),
            let end = DecidedEnd(cancelReason: (row[0] as Bool) ? .some(row[1]) : nil, publishedRelease: row[2])
        else { return false }
        try finish(lease, state: end.state, reason: end.reason, error: nil, release: end.release, in: db)
        return true
    }

    /// Ends the attempt: a permanent failure ends the job `failed`; a transient one queues it
    /// again after a backoff while attempts are left, unless a newer job supersedes it
    /// (``isSuperseded(_:in:)``), which ends it `cancelled`: a retried old deploy must not
    /// overwrite a newer one. A job whose end is decided (``endIfDecided(_:)``) ends so.
    public func fail(_ lease: Lease, _ failure: JobFailure) async throws {
        let configuration = configuration
        try await database.write { db in
            if try Self.endedAsDecided(lease, in: db) { return }
            switch failure {
            case .permanent(let reason, let error):
                try Self.finish(lease, state: .failed, reason: reason, error: error, release: nil, in: db)
            case .transient(_, let error) where try Self.isSuperseded(lease.job, in: db):
                try Self.finish(lease, state: .cancelled, reason: "superseded", error: error, release: nil, in: db)
            case .transient(let reason, let error):
                let attempt =
                    try Int.fetchOne(db, sql: "SELECT attempt FROM jobs WHERE id = ?", arguments: [lease.job]) ?? 1
                let maxAttempts =
                    try Int.fetchOne(db, sql: "SELECT max_attempts FROM jobs WHERE id = ?", arguments: [lease.job]) ?? 1
                guard attempt < maxAttempts else {
                    try Self.finish(lease, state: .failed, reason: reason, error: error, release: nil, in: db)
                    return
                }
                let delay = configuration.retryBackoff * pow(2, Double(attempt - 1))
                try Self.endAttempt(job: lease.job, outcome: reason, in: db)
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = 'queued', run_at = ?, reason = ?, error = ?,
                            lease_token = NULL, lease_expires_at = NULL
                        WHERE id = ?
                        """,
                    arguments: [Self.now() + delay, reason, error, lease.job]
                )
            }
        }
    }

    /// Gives the job back to the queue at once without counting the attempt against its
    /// retries (it gets one more), as a worker does when it is asked to stop; a job a newer
    /// one supersedes ends `cancelled` instead, and one whose end is decided
    /// (``endIfDecided(_:)``) ends so. Its history keeps the attempt, "handed back".
    public func release(_ lease: Lease) async throws {
        try await database.write { db in
            if try Self.endedAsDecided(lease, in: db) { return }
            if try Self.isSuperseded(lease.job, in: db) {
                try Self.finish(lease, state: .cancelled, reason: "superseded", error: nil, release: nil, in: db)
                return
            }
            try Self.endAttempt(job: lease.job, outcome: "handed back", in: db)
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'queued', max_attempts = max_attempts + 1, reason = 'worker stopped',
                        lease_token = NULL, lease_expires_at = NULL, run_at = ?
                    WHERE id = ?
                    """,
                arguments: [Self.now(), lease.job]
            )
        }
    }

    /// Ends the job and its attempt, if `lease` still holds the job: the update of the job
    /// is its own fence, so a completion needs no separate lease check. A job a user asked
    /// to cancel can only end `cancelled`.
    /// - Throws: ``QueueError/leaseLost(_:)``, having changed nothing, when it does not.
    static func finish(
        _ lease: Lease, state: JobState, reason: String, error: String?, release: Int?, in db: Database
    ) throws {
        let now = now()
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        UPDATE jobs SET state = ?, reason = ?, error = ?, release = ?, finished_at = ?,
                            lease_token = NULL, lease_expires_at = NULL
                        WHERE id = ? AND state = 'running' AND lease_token = ?
                          AND (cancel_requested_at IS NULL OR ? = 'cancelled')
                        RETURNING attempt, lease_owner, started_at
                        """
                ),
                arguments: [state.rawValue, reason, error, release, now, lease.job, lease.token, state.rawValue]
            )
        else { throw QueueError.leaseLost(lease.job) }
        try db.executeCached(
            """
            INSERT OR REPLACE INTO job_attempts (job_id, attempt, owner, started_at, ended_at, outcome)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            arguments: [lease.job, row[0] as Int, row[1] as String?, row[2] as Double?, now, reason]
        )
    }
}

/// How a running job ends whatever its worker reports, once that is decided.
struct DecidedEnd {
    var state: JobState
    var reason: String
    var release: Int?

    /// `cancelled` once a cancel was asked for (`cancelReason` is then non-nil, with the
    /// reason given, or nil for a user's cancel), `succeeded` once it published its release
    /// (which serves); nil while its worker decides.
    init?(cancelReason: String??, publishedRelease: Int?) {
        if let given = cancelReason {
            (state, reason, release) = (.cancelled, given ?? JobQueue.cancelledByUser, nil)
        } else if let publishedRelease {
            (state, reason, release) = (.succeeded, "deployed", publishedRelease)
        } else {
            return nil
        }
    }
}

extension JobQueue {
    /// Ends the job `succeeded` with `release` (once it published it, ``publish(_:release:with:)``).
    /// - Throws: ``QueueError/leaseLost(_:)``, having changed nothing, when `lease` no longer
    ///   holds the job, or a cancel was requested.
    public func complete(_ lease: Lease, release: Int) async throws {
        try await database.write { db in
            try Self.finish(lease, state: .succeeded, reason: "deployed", error: nil, release: release, in: db)
        }
    }
}
