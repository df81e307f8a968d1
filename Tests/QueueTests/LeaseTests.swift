import Foundation
import GRDB
import MiniCore
import Queue
import Store
import Testing

/// The queue's claim and lease fencing, on a real SQLite file.
@Suite("job queue leases")
final class LeaseTests {
    let directory: DataDirectory
    let queue: JobQueue

    init() throws {
        directory = DataDirectory(
            FileManager.default.temporaryDirectory.appendingPathComponent("queue-\(UUID().uuidString)").path)
        try directory.create()
        var configuration = JobQueue.Configuration()
        // Expired by the tests' 1.1 s sleeps, and long enough for a loaded machine between calls.
        configuration.leaseDuration = 1
        // 0.4 s, then 0.8 s: room for a loaded machine between a fail and the next claim.
        configuration.retryBackoff = 0.4
        queue = JobQueue(database: try MiniDatabase(path: directory.databasePath), configuration: configuration)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory.root) }

    func enqueue(_ app: String) async throws -> JobInfo {
        try await queue.enqueue(app: try AppName(app), uploadBytes: 1) { id in "/nonexistent/\(id).tar.gz" }
    }

    @Test("a job records the token that queued it, and the release it makes says so")
    func requestedBy() async throws {
        let app = try AppName("audited")
        let deploy = try await queue.enqueue(app: app, uploadBytes: 1, requestedBy: "ci") { id in "/nonexistent/\(id)" }
        #expect(deploy.requestedBy == "ci")
        let change = try await queue.enqueueRelease(app: app, change: .restart, requestedBy: "alice")
        #expect(try await queue.job(change.id).requestedBy == "alice")
        let (made, unattributed) = try await queue.database.write { db in
            (
                try AppStore.createRelease(
                    app: app, image: "sha256:1", containerPort: 8080, environment: [:], instances: 1,
                    limits: ResourceLimits(), job: deploy.id, description: "deploy", in: db),
                try AppStore.createRelease(
                    app: app, image: "sha256:2", containerPort: 8080, environment: [:], instances: 1,
                    limits: ResourceLimits(), job: nil, description: "by mini", in: db)
            )
        }
        #expect(made.createdBy == "ci")
        #expect(unattributed.createdBy == nil)
    }

    @Test("a claim takes the oldest job with a fresh token, one running job per app")
    func claimOrderAndPerAppExclusion() async throws {
        let a = try await enqueue("a")
        let b = try await enqueue("b")
        let worker = WorkerIdentity(name: "w1")
        let first = try #require(try await queue.claim(as: worker))
        #expect(first.info.id == a.id)
        #expect(first.info.state == .running)
        #expect(first.info.attempt == 1)
        let newerA = try await enqueue("a")
        let second = try #require(try await queue.claim(as: worker))
        #expect(second.info.id == b.id, "app a already runs a job, so b comes next")
        #expect(try await queue.claim(as: worker) == nil, "the newer job of a waits for the running one")
        #expect(first.lease.token != second.lease.token)
        try await queue.fail(first.lease, .permanent(reason: "build failed", error: "boom"))
        #expect(try await queue.claim(as: worker)?.info.id == newerA.id)
    }

    @Test("an expired lease is rescued and every late write of its holder is refused")
    func fencing() async throws {
        _ = try await enqueue("app")
        let stale = try #require(try await queue.claim(as: WorkerIdentity(name: "slow")))
        try await Task.sleep(for: .milliseconds(1100))
        let fresh = try #require(try await queue.claim(as: WorkerIdentity(name: "fast")))
        #expect(fresh.info.id == stale.info.id)
        #expect(fresh.info.attempt == 2)
        #expect(fresh.lease.token != stale.lease.token)

        #expect(try await !queue.holds(stale.lease))
        await #expect(throws: QueueError.leaseLost(stale.lease.job)) { try await queue.heartbeat(stale.lease) }
        await #expect(throws: QueueError.leaseLost(stale.lease.job)) {
            try await queue.fail(stale.lease, .permanent(reason: "late", error: "late"))
        }
        await #expect(throws: QueueError.leaseLost(stale.lease.job)) {
            try await queue.complete(stale.lease, release: 9)
        }
        // The holder of the fresh lease is unaffected.
        try await queue.heartbeat(fresh.lease)
        try await queue.complete(fresh.lease, release: 1)
        let job = try await queue.job(fresh.info.id)
        #expect(job.state == .succeeded)
        #expect(job.release == 1)
    }

    @Test("a job whose worker keeps dying fails after the lease expiry limit")
    func expiryLimit() async throws {
        let job = try await enqueue("crashy")
        for _ in 0..<3 {
            _ = try #require(try await queue.claim(as: WorkerIdentity(name: "doomed")))
            try await Task.sleep(for: .milliseconds(1100))
            try await queue.rescueExpiredLeases()
        }
        let ended = try await queue.job(job.id)
        #expect(ended.state == .failed)
        #expect(ended.reason == "worker crashed")
    }

    @Test("a newer deploy supersedes older queued ones")
    func supersede() async throws {
        let old = try await enqueue("app")
        let older = try await enqueue("app")
        let newest = try await enqueue("app")
        #expect(try await queue.job(old.id).state == .cancelled)
        #expect(try await queue.job(old.id).reason == "superseded")
        #expect(try await queue.job(older.id).reason == "superseded")
        #expect(try await queue.job(newest.id).state == .queued)
    }

    func enqueueRelease(_ app: String, rollbackTo: Int? = nil) async throws -> JobInfo {
        try await queue.enqueueRelease(
            app: try AppName(app), change: ReleaseChange(rollbackTo: rollbackTo, description: "change"))
    }

    @Test("an old deploy going back to the queue ends superseded by a newer deploy, not by a newer settings change")
    func requeuedOldDeploy() async throws {
        // Handed back by a stopping worker while a newer deploy waits: it must not run after it.
        let old = try await enqueue("app")
        let first = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let newer = try await enqueue("app")
        try await queue.release(first.lease)
        #expect(try await queue.job(old.id).state == .cancelled)
        #expect(try await queue.job(old.id).reason == "superseded")
        #expect(try await queue.claim(as: WorkerIdentity(name: "w"))?.info.id == newer.id)

        // Failed for a platform reason while a newer deploy waits: the same.
        let retried = try await enqueue("other")
        let attempt = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        _ = try await enqueue("other")
        try await queue.fail(attempt.lease, .transient(reason: "docker unreachable", error: "refused"))
        #expect(try await queue.job(retried.id).reason == "superseded")

        // A newer scale or env change does not replace a deploy: the deploy is retried.
        let deploy = try await enqueue("third")
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        _ = try await enqueueRelease("third")
        try await queue.fail(claimed.lease, .transient(reason: "docker unreachable", error: "refused"))
        #expect(try await queue.job(deploy.id).state == .queued)
    }

    @Test("an app's jobs run in the order they were queued, also when one goes back to the queue")
    func appOrderKeptAcrossRequeues() async throws {
        // A deploy handed back by a stopping worker runs before the rollback asked for later.
        let deploy = try await enqueue("app")
        let first = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let rollback = try await enqueueRelease("app", rollbackTo: 1)
        try await queue.release(first.lease)
        #expect(try await queue.job(deploy.id).state == .queued)
        let next = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        #expect(next.info.id == deploy.id)

        // Retried after a platform failure, it holds the rollback back through its backoff.
        try await queue.fail(next.lease, .transient(reason: "docker unreachable", error: "refused"))
        #expect(try await queue.claim(as: WorkerIdentity(name: "w")) == nil, "the rollback waits for the retry")
        try await Task.sleep(for: .milliseconds(900))
        let retried = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        #expect(retried.info.id == deploy.id)
        try await queue.fail(retried.lease, .permanent(reason: "build failed", error: "exit 1"))
        #expect(try await queue.claim(as: WorkerIdentity(name: "w"))?.info.id == rollback.id)
    }

    @Test("a deploy whose worker died is retried when only a settings change came after it")
    func rescuedDeployWithNewerRelease() async throws {
        let deploy = try await enqueue("app")
        _ = try #require(try await queue.claim(as: WorkerIdentity(name: "doomed")))
        let scale = try await enqueueRelease("app")
        try await Task.sleep(for: .milliseconds(1100))
        try await queue.rescueExpiredLeases()
        #expect(try await queue.job(deploy.id).state == .queued)
        #expect(try await queue.job(deploy.id).reason == "lease lost")
        #expect(try await queue.job(scale.id).state == .queued)
    }

    @Test("a settings change supersedes queued settings changes, never a queued rollback")
    func releaseSupersession() async throws {
        let env = try await enqueueRelease("app")
        let rollback = try await enqueueRelease("app", rollbackTo: 3)
        let scale = try await enqueueRelease("app")
        #expect(try await queue.job(env.id).reason == "superseded")
        #expect(try await queue.job(rollback.id).state == .queued)
        #expect(try await queue.job(scale.id).state == .queued)
    }

    @Test("cancelling a running job fences its worker at once and keeps the app busy until the worker ends it")
    func cancelRunning() async throws {
        // The suite's 0.3 s lease could expire on a busy machine before the worker ends the job.
        let queue = JobQueue(database: queue.database)
        _ = try await enqueue("app")
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let next = try await enqueue("app")
        let cancelling = try await queue.cancel(claimed.info.id)
        #expect(cancelling.state == .running)
        #expect(cancelling.reason == "cancelling")
        #expect(try await !queue.holds(claimed.lease))
        try await queue.heartbeat(claimed.lease)  // the lease lives on while the worker cleans up
        await #expect(throws: QueueError.leaseLost(claimed.lease.job)) {
            try await queue.publish(claimed.lease, release: 1) { _ in }
        }
        await #expect(throws: QueueError.leaseLost(claimed.lease.job)) {
            try await queue.complete(claimed.lease, release: 1)
        }
        #expect(try await queue.cancel(claimed.info.id).reason == "cancelling", "asking twice changes nothing")
        #expect(
            try await queue.claim(as: WorkerIdentity(name: "w2")) == nil, "the app is busy while its worker cleans up")

        #expect(try await queue.endIfDecided(claimed.lease))
        let ended = try await queue.job(claimed.info.id)
        #expect(ended.state == .cancelled)
        #expect(ended.reason == "cancelled by user")
        #expect(try await queue.claim(as: WorkerIdentity(name: "w2"))?.info.id == next.id)
        #expect(try await queue.cancel(claimed.info.id) == ended, "cancelling a cancelled job answers it as it is")
        // A job that ended another way cannot be cancelled.
        let other = try await enqueue("other")
        let done = try #require(try await queue.claim(as: WorkerIdentity(name: "w3")))
        #expect(done.info.id == other.id)
        try await queue.fail(done.lease, .permanent(reason: "build failed", error: "x"))
        await #expect(throws: QueueError.jobFinished(other.id, .failed)) { try await queue.cancel(other.id) }
    }

    @Test("a cancel's reason is the job's once it ends, queued or running; a user's says so")
    func cancelReason() async throws {
        let queued = try await enqueue("gone")
        #expect(try await queue.cancel(queued.id, reason: "gone was destroyed").reason == "gone was destroyed")
        let running = try await enqueue("gone")
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        #expect(claimed.info.id == running.id)
        #expect(try await queue.cancel(running.id, reason: "gone was destroyed").reason == "cancelling")
        #expect(try await queue.endIfDecided(claimed.lease))
        #expect(try await queue.job(running.id).reason == "gone was destroyed")
        // Its worker died instead: the rescue ends it with the same reason.
        let orphaned = try await enqueue("gone")
        let doomed = WorkerIdentity(name: "doomed")
        _ = try #require(try await queue.claim(as: doomed))
        _ = try await queue.cancel(orphaned.id, reason: "gone was destroyed")
        try await queue.rescueLeases(of: doomed)
        #expect(try await queue.job(orphaned.id).state == .cancelled)
        #expect(try await queue.job(orphaned.id).reason == "gone was destroyed")
        let byUser = try await enqueue("kept")
        #expect(try await queue.cancel(byUser.id).reason == JobQueue.cancelledByUser)
    }

    @Test("a worker stopping or failing after a cancel request ends the job cancelled, not queued again")
    func cancelRequestedThenWorkerReports() async throws {
        _ = try await enqueue("a")
        _ = try await enqueue("b")
        let a = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let b = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        _ = try await queue.cancel(a.info.id)
        _ = try await queue.cancel(b.info.id)
        try await queue.release(a.lease)
        try await queue.fail(b.lease, .transient(reason: "docker unreachable", error: "refused"))
        for job in [a, b] {
            let ended = try await queue.job(job.info.id)
            #expect(ended.state == .cancelled)
            #expect(ended.reason == "cancelled by user")
        }
    }

    @Test("a cancel request whose worker died ends the job cancelled when its lease expires")
    func cancelRequestedWorkerDied() async throws {
        _ = try await enqueue("app")
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        _ = try await queue.cancel(claimed.info.id)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await queue.rescueExpiredLeases() == 1)
        let ended = try await queue.job(claimed.info.id)
        #expect(ended.state == .cancelled)
        #expect(ended.reason == "cancelled by user")
        #expect(try await queue.claim(as: WorkerIdentity(name: "w")) == nil, "nothing is queued again")
    }

    @Test("a job that published its release cannot be cancelled, and ends succeeded however its worker stops")
    func publishedJobEndsSucceeded() async throws {
        _ = try await enqueue("stopping")
        _ = try await enqueue("failing")
        _ = try await enqueue("dying")
        let stopping = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let failing = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        let dying = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        for (version, job) in [stopping, failing, dying].enumerated() {
            #expect(
                try await queue.publish(job.lease, release: version + 1) { _ in "routes switched" } == "routes switched"
            )
            await #expect(throws: QueueError.jobReleased(job.info.id, app: job.info.app.rawValue, release: version + 1))
            {
                try await queue.cancel(job.info.id)
            }
            #expect(try await queue.job(job.info.id).state == .running, "it still runs until its worker ends it")
        }
        try await queue.release(stopping.lease)
        try await queue.fail(failing.lease, .permanent(reason: "timed out", error: "the build ran too long"))
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await queue.rescueExpiredLeases() == 1)
        for (version, job) in [stopping, failing, dying].enumerated() {
            let ended = try await queue.job(job.info.id)
            #expect(ended.state == .succeeded, "\(job.info.app)")
            #expect(ended.release == version + 1)
            #expect(ended.reason == "deployed")
        }
    }

    @Test("the jobs of a worker seen to exit are rescued at once, long before its leases expire; other workers' stay")
    func rescueOfDeadWorker() async throws {
        var configuration = JobQueue.Configuration()
        configuration.leaseDuration = 3600
        let queue = JobQueue(database: try MiniDatabase(path: directory.databasePath), configuration: configuration)
        _ = try await enqueue("building")
        _ = try await enqueue("published")
        _ = try await enqueue("other")
        let dead = WorkerIdentity(name: "worker-1", pid: 4242)
        let building = try #require(try await queue.claim(as: dead))
        let published = try #require(try await queue.claim(as: dead))
        let other = try #require(try await queue.claim(as: WorkerIdentity(name: "worker-1", pid: 4343)))
        try await queue.publish(published.lease, release: 1) { _ in }

        #expect(try await queue.rescueLeases(of: dead) == 2)
        let requeued = try await queue.job(building.info.id)
        #expect(requeued.state == .queued)
        #expect(requeued.reason == "lease lost")
        #expect(try await queue.job(published.info.id).state == .succeeded, "a published release stays the app's")
        #expect(try await queue.holds(other.lease), "the same name with another pid is another worker")
        await #expect(throws: QueueError.leaseLost(building.info.id)) { try await queue.heartbeat(building.lease) }
        #expect(try await queue.claim(as: WorkerIdentity(name: "worker-1", pid: 4444))?.info.id == building.info.id)
        #expect(try await queue.rescueLeases(of: dead) == 0)
    }

    @Test("the jobs of this machine's workers whose process is gone are rescued; a live one's and another host's stay")
    func exitedWorkersAreRescued() async throws {
        var configuration = JobQueue.Configuration()
        configuration.leaseDuration = 3600
        let queue = JobQueue(database: self.queue.database, configuration: configuration)
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        for app in ["gone", "alive", "elsewhere"] { _ = try await enqueue(app) }
        let host = WorkerIdentity.localHost
        #expect(host.hasPrefix(ProcessInfo.processInfo.hostName + "~"), "\(host)")
        let claims = await [
            try #require(
                try queue.claim(as: WorkerIdentity(name: "worker-1", host: host, pid: gone.processIdentifier))),
            try #require(try queue.claim(as: WorkerIdentity(name: "worker-2", host: host))),
            try #require(
                try queue.claim(as: WorkerIdentity(name: "worker-3", host: "other-vm", pid: gone.processIdentifier))),
        ]
        #expect(try await queue.rescueLeasesOfExitedWorkers(host: host) == 1)
        #expect(try await queue.job(claims[0].info.id).state == .queued)
        #expect(try await queue.holds(claims[1].lease))
        #expect(try await queue.holds(claims[2].lease))
        #expect(WorkerIdentity(parsing: "w@h@x:12") == WorkerIdentity(name: "w@h", host: "x", pid: 12))
        #expect(WorkerIdentity(parsing: "no-pid@host") == nil)
    }

    @Test("a job with neither a cancel request nor a published release is not ended by endIfDecided")
    func undecidedJobStays() async throws {
        _ = try await enqueue("app")
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        #expect(try await !queue.endIfDecided(claimed.lease))
        #expect(try await queue.job(claimed.info.id).state == .running)
        #expect(try await queue.holds(claimed.lease))
    }

    @Test("job-time histograms only grow: a job removed by retention or with its app still counts")
    func jobTimesOnlyGrow() async throws {
        for _ in 0..<3 {
            _ = try await enqueue("app")
            let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
            try await queue.complete(claimed.lease, release: 1)
        }
        _ = try await enqueue("app")  // queued, never started: no wait, no duration
        let counted = try await queue.statistics().times
        #expect(counted[.duration]?.count == 3 && counted[.wait]?.count == 3, "\(counted)")
        #expect(counted[.duration]?.cumulativeCounts == JobTimeMetric.duration.buckets.map { _ in 3 })

        #expect(try await queue.prune(keepPerApp: 1) { _ in "/nonexistent" }.jobsDeleted == 3)
        #expect(try await queue.statistics().times == counted)
        _ = try await AppStore(database: queue.database).deleteApp(try AppName("app"))
        #expect(try await queue.jobs().isEmpty)
        #expect(try await queue.statistics().times == counted)
    }

    @Test("a platform failure is retried with backoff, a build failure is not")
    func retries() async throws {
        let job = try await enqueue("app")
        let first = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        try await queue.fail(first.lease, .transient(reason: "docker unreachable", error: "socket refused"))
        #expect(try await queue.job(job.id).state == .queued)
        #expect(try await queue.claim(as: WorkerIdentity(name: "w")) == nil, "the retry waits for its backoff")
        try await Task.sleep(for: .milliseconds(500))
        let second = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        #expect(second.info.attempt == 2)
        try await queue.fail(second.lease, .permanent(reason: "build failed", error: "exit 1"))
        let ended = try await queue.job(job.id)
        #expect(ended.state == .failed)
        #expect(ended.reason == "build failed")
        #expect(ended.error == "exit 1")
    }

    @Test("every ended attempt keeps a history row with its owner, times and outcome")
    func attemptHistory() async throws {
        let job = try await enqueue("app")
        let maxAttempts = try await queue.job(job.id).maxAttempts
        let first = try #require(try await queue.claim(as: WorkerIdentity(name: "crashed")))
        try await Task.sleep(for: .milliseconds(1100))
        let second = try #require(try await queue.claim(as: WorkerIdentity(name: "retried")))
        try await queue.fail(second.lease, .transient(reason: "docker unreachable", error: "socket refused"))
        try await Task.sleep(for: .milliseconds(900))
        let stopping = try #require(try await queue.claim(as: WorkerIdentity(name: "stopping")))
        try await queue.release(stopping.lease)
        #expect(try await queue.job(job.id).maxAttempts == maxAttempts + 1, "a hand-back does not use up a retry")
        let third = try #require(try await queue.claim(as: WorkerIdentity(name: "done")))
        try await queue.complete(third.lease, release: 1)

        let attempts = try await queue.database.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT attempt, owner, started_at, ended_at, outcome FROM job_attempts WHERE job_id = ? ORDER BY attempt",
                arguments: [job.id]
            ).map { row in
                (
                    attempt: row[0] as Int, owner: row[1] as String, started: row[2] as Double, ended: row[3] as Double,
                    outcome: row[4] as String
                )
            }
        }
        #expect(attempts.map(\.attempt) == [1, 2, 3, 4])
        #expect(attempts.map(\.outcome) == ["lease lost", "docker unreachable", "handed back", "deployed"])
        #expect(
            attempts.map(\.owner) == [first.lease.owner, second.lease.owner, stopping.lease.owner, third.lease.owner])
        #expect(attempts.allSatisfy { $0.ended >= $0.started })
    }

    @Test("completing a job can claim the next in the same transaction, only while the lease holds")
    func completeAndClaimNext() async throws {
        let a = try await enqueue("a")
        let b = try await enqueue("b")
        let worker = WorkerIdentity(name: "w1")
        let first = try #require(try await queue.claim(as: worker))
        let cancelling = try await queue.cancel(first.info.id)
        #expect(cancelling.reason == "cancelling")
        await #expect(throws: QueueError.leaseLost(a.id)) {
            try await queue.complete(first.lease, release: 1, claimingNextAs: worker)
        }
        #expect(try await queue.job(b.id).state == .queued, "a refused completion claims nothing")
        #expect(try await queue.job(a.id).state == .running, "nor does it end the job: its worker does (cancelled)")

        let second = try #require(try await queue.claim(as: worker))
        _ = try await enqueue("c")
        let third = try #require(try await queue.complete(second.lease, release: 2, claimingNextAs: worker))
        #expect(try await queue.job(second.info.id).state == .succeeded)
        #expect(try await queue.job(second.info.id).release == 2)
        #expect(third.info.app.rawValue == "c")
        #expect(third.info.state == .running)
        #expect(try await queue.complete(third.lease, release: 1, claimingNextAs: worker) == nil)
    }
}
