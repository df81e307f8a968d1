import Foundation
import GRDB
import MiniCore

extension JobQueue {
    /// Claims the oldest runnable job, if any: queued, due, and of an app with no running
    /// job. Expired leases are rescued first, in the same transaction.
    public func claim(as owner: WorkerIdentity) async throws -> ClaimedJob? {
        let configuration = configuration
        return try await database.write { db in
            try Self.claimNext(as: owner, configuration: configuration, in: db)
        }
    }

    /// Ends the job of `lease` `succeeded` with `release` and claims the next runnable job,
    /// in one transaction: a worker with nothing left to do for its job pays for one commit
    /// instead of two.
    /// - Throws: ``QueueError/leaseLost(_:)``, having changed nothing, when `lease` no
    ///   longer holds its job or a cancel was requested (the job then ends `cancelled`
    ///   through ``endIfDecided(_:)``, or at the rescue after its lease).
    public func complete(_ lease: Lease, release: Int, claimingNextAs owner: WorkerIdentity) async throws -> ClaimedJob?
    {
        let configuration = configuration
        return try await database.write { db in
            try Self.finish(lease, state: .succeeded, reason: "deployed", error: nil, release: release, in: db)
            return try Self.claimNext(as: owner, configuration: configuration, in: db)
        }
    }

    private static func claimNext(
        as owner: WorkerIdentity, configuration: Configuration, in db: Database
    ) throws -> ClaimedJob? {
        let now = Self.now()
        try Self.rescueExpired(now: now, configuration: configuration, in: db)
        let token = Self.newToken()
        guard
            let record = try JobRecord.fetchOne(
                db.cachedStatement(sql: Self.claimSQL),
                arguments: [owner.description, token, now + configuration.leaseDuration, now, now, now]
            )
        else { return nil }
        return ClaimedJob(
            lease: Lease(job: record.id, token: token, owner: owner.description),
            info: try record.info(),
            uploadPath: record.uploadPath ?? "",
            change: record.releaseChange
        )
    }

    /// Takes the oldest due queued job of an app without a running one, and only the app's
    /// first queued job: a job handed back or retried keeps its place before the app's jobs
    /// queued after it (a deploy handed back by a stopping worker must not run after the
    /// rollback asked for later). The literal `state = 'queued'` and `state = 'running'` let
    /// SQLite use the partial indexes `jobs_queued`, `jobs_queued_by_app` and
    /// `jobs_running`; without `INDEXED BY`, it would look among all the app's kept jobs
    /// through `jobs_by_app`.
    private static let claimSQL = """
        UPDATE jobs SET state = 'running', attempt = attempt + 1,
            lease_owner = ?, lease_token = ?, lease_expires_at = ?, heartbeat_at = ?,
            started_at = ?, finished_at = NULL
        WHERE id = (
            SELECT j.id FROM jobs j
            WHERE j.state = 'queued' AND j.run_at <= ?
              AND NOT EXISTS (SELECT 1 FROM jobs r INDEXED BY jobs_running WHERE r.app = j.app AND r.state = 'running')
              AND NOT EXISTS (
                SELECT 1 FROM jobs e INDEXED BY jobs_queued_by_app
                WHERE e.app = j.app AND e.state = 'queued' AND e.id < j.id)
            ORDER BY j.run_at, j.id LIMIT 1)
        RETURNING \(JobRecord.columns)
        """

    /// Gives expired leases back to the queue, or fails their jobs once they used up their
    /// attempts or expired ``Configuration/maxLeaseExpiries`` times; a job whose end was
    /// decided (a cancel request, a published release) ends so. Returns how many.
    @discardableResult
    public func rescueExpiredLeases() async throws -> Int {
        let configuration = configuration
        return try await database.write { db in
            try Self.rescueExpired(now: Self.now(), configuration: configuration, in: db)
        }
    }

    /// Rescues the jobs held by workers of this machine (`host`, see
    /// ``WorkerIdentity/localHost``) whose process is gone, as
    /// ``rescueLeases(of:)`` does: killed with their `minid serve`, say, their jobs come back
    /// at once instead of when their leases expire. A worker whose pid another process took
    /// keeps its jobs until then.
    @discardableResult
    public func rescueLeasesOfExitedWorkers(host: String = WorkerIdentity.localHost) async throws -> Int {
        let owners = try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running' AND lease_owner IS NOT NULL")
        }
        var rescued = 0
        for owner in owners {
            guard let worker = WorkerIdentity(parsing: owner), worker.host == host, !Self.isRunning(worker.pid) else {
                continue
            }
            rescued += try await rescueLeases(of: worker)
        }
        return rescued
    }

    /// Whether a process with this pid exists (one of another user counts).
    private static func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// Ends the leases of a worker known to be dead (its supervisor saw the process exit) at
    /// once and rescues their jobs as ``rescueExpiredLeases()`` does, instead of leaving the
    /// app busy until the leases run out. Returns how many jobs the worker held.
    @discardableResult
    public func rescueLeases(of deadWorker: WorkerIdentity) async throws -> Int {
        let configuration = configuration
        return try await database.write { db in
            let now = Self.now()
            try db.executeCached(
                "UPDATE jobs SET lease_expires_at = ? WHERE state = 'running' AND lease_owner = ?",
                arguments: [now - 1, deadWorker.description]
            )
            let held = db.changesCount
            if held > 0 { try Self.rescueExpired(now: now, configuration: configuration, in: db) }
            return held
        }
    }

    /// Running jobs whose lease expired: a scan of the few entries of `jobs_running`, which
    /// has `lease_expires_at`, so that the usual answer, none, reads no table row.
    private static let expiredSQL =
        "SELECT \(JobRecord.columns) FROM jobs WHERE state = 'running' AND lease_expires_at < ?"

    @discardableResult
    static func rescueExpired(now: Double, configuration: Configuration, in db: Database) throws -> Int {
        let expired = try JobRecord.fetchAll(
            db.cachedStatement(sql: expiredSQL),
            arguments: [now]
        )
        for job in expired {
            let expiries = job.leaseExpiries + 1
            let decided = job.decidedEnd
            let (state, reason): (JobState, String) =
                if let decided {
                    (decided.state, decided.reason)
                } else if try isSuperseded(job.id, in: db) {
                    (.cancelled, "superseded")
                } else if job.attempt >= job.maxAttempts || expiries >= configuration.maxLeaseExpiries {
                    (.failed, "worker crashed")
                } else {
                    (.queued, "lease lost")
                }
            try endAttempt(job: job.id, outcome: decided?.reason ?? "lease lost", in: db)
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
