import Foundation
import GRDB
import MiniCore

extension JobQueue {
    /// Claims the oldest runnable job, if any: queued, due, and of an app with no running
    /// job. Expired leases are rescued first, in the same transaction.
    public func claim(as owner: WorkerIdentity) throws -> ClaimedJob? {
        let configuration = configuration
        return try database.write { db in
            let now = Self.now()
            try Self.rescueExpired(now: now, configuration: configuration, in: db)
            let token = Self.newToken()
            guard
                let record = try JobRecord.fetchOne(
                    db.cachedStatement(
                        sql: """
                            UPDATE jobs SET state = 'running', attempt = attempt + 1,
                                lease_owner = ?, lease_token = ?, lease_expires_at = ?, heartbeat_at = ?,
                                started_at = ?, finished_at = NULL
                            WHERE id = (
                                SELECT j.id FROM jobs j
                                WHERE j.state = 'queued' AND j.run_at <= ?
                                  AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.app = j.app AND r.state = 'running')
                                ORDER BY j.run_at, j.id LIMIT 1)
                            RETURNING *
                            """
                    ),
                    arguments: [owner.description, token, now + configuration.leaseDuration, now, now, now]
                )
            else { return nil }
            try db.executeCached(
                "INSERT OR REPLACE INTO job_attempts (job_id, attempt, owner, started_at) VALUES (?, ?, ?, ?)",
                arguments: [record.id, record.attempt, owner.description, now]
            )
            return ClaimedJob(
                lease: Lease(job: record.id, token: token, owner: owner.description),
                info: try record.info(),
                uploadPath: record.uploadPath ?? "",
                change: record.releaseChange
            )
        }
    }

    /// Gives expired leases back to the queue, or fails their jobs once they used up their
    /// attempts or expired ``Configuration/maxLeaseExpiries`` times. Returns how many.
    @discardableResult
    public func rescueExpiredLeases() throws -> Int {
        let configuration = configuration
        return try database.write { db in
            try Self.rescueExpired(now: Self.now(), configuration: configuration, in: db)
        }
    }

    @discardableResult
    static func rescueExpired(now: Double, configuration: Configuration, in db: Database) throws -> Int {
        let expired = try JobRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM jobs WHERE state = 'running' AND lease_expires_at < ?"),
            arguments: [now]
        )
        for job in expired {
            let expiries = job.leaseExpiries + 1
            try endAttempt(job: job.id, attempt: job.attempt, outcome: "lease lost", in: db)
            let newerQueued = try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE app = ? AND id > ? AND state IN ('queued', 'running'))",
                arguments: [job.app, job.id]
            ) ?? false
            let (state, reason): (JobState, String) =
                if newerQueued {
                    (.cancelled, "superseded")
                } else if job.attempt >= job.maxAttempts || expiries >= configuration.maxLeaseExpiries {
                    (.failed, "worker crashed")
                } else {
                    (.queued, "lease lost")
                }
            try db.execute(
                sql: """
                    UPDATE jobs SET state = ?, reason = ?, lease_expiries = ?, lease_token = NULL,
                        lease_expires_at = NULL, run_at = ?, finished_at = ?,
                        error = COALESCE(error, ?)
                    WHERE id = ?
                    """,
                arguments: [
                    state.rawValue, reason, expiries, now, state.isFinal ? now : nil,
                    state == .failed ? "the worker holding the job stopped answering \(expiries) time(s)" : nil,
                    job.id,
                ]
            )
        }
        return expired.count
    }
}
