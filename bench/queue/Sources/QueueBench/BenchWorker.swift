import Foundation
import MiniCore
import Queue
import Store

/// A worker process's loop: claims no-op jobs through the real ``JobQueue`` and completes
/// them, recording every claim in its ``ClaimLog``.
struct BenchWorker {
    let queue: JobQueue
    let observer: ChangeObserver
    let identity: WorkerIdentity
    let log: ClaimLog
    /// Every this many claims of a first attempt, the worker abandons the job instead of
    /// completing it, as a hung worker would; 0 never.
    let abandonEvery: Int

    private var pid: Int32 { identity.pid }

    /// How long an idle worker waits for a change before it claims again anyway: expired
    /// leases come back without any commit to wake it.
    private var idleTimeout: Duration {
        .milliseconds(Int(min(1, queue.configuration.leaseDuration / 2) * 1000))
    }

    /// Claims and completes jobs, waiting with the ``ChangeObserver`` while there is none,
    /// until the task is cancelled or, with `stopWhenIdle`, until no job is queued or
    /// running. Then tries to complete the abandoned jobs with their stale leases, which
    /// the queue must refuse: by then other workers took and completed them.
    ///
    /// While jobs come, it only claims. When a claim finds nothing, it reads the data
    /// version and claims once more before it sleeps, so a job enqueued in between wakes it.
    func serve(stopWhenIdle: Bool) async throws {
        var abandoned: [Lease] = []
        var claims = 0
        var versionBeforeClaim: Int?
        var next = try await queue.claim(as: identity)
        while !Task.isCancelled {
            if let job = next {
                versionBeforeClaim = nil
                claims += 1
                try record(job)
                if abandonEvery > 0, job.info.attempt == 1, claims.isMultiple(of: abandonEvery) {
                    abandoned.append(job.lease)
                    next = try await queue.claim(as: identity)
                    continue
                }
                next = try await completeAndClaim(job.lease)
            } else if let version = versionBeforeClaim {
                if stopWhenIdle, try await isIdle() { break }
                do {
                    versionBeforeClaim = try await observer.waitForChange(since: version, timeout: idleTimeout)
                } catch is CancellationError {
                    break
                }
                next = try await queue.claim(as: identity)
            } else {
                versionBeforeClaim = try observer.version()
                next = try await queue.claim(as: identity)
            }
        }
        for lease in abandoned {
            try await complete(lease)
        }
        try log.flush()
    }

    /// Claims one job (waiting for one if needed) and keeps its lease alive with a heartbeat
    /// every third of the lease for `duration` (nil: until the lease is lost or the process
    /// is killed), then completes it.
    func hold(for duration: Duration?) async throws {
        while true {
            let version = try observer.version()
            if let job = try await queue.claim(as: identity) {
                try record(job)
                try log.flush()
                StandardStreams.writeLine("holding \(job.info.id) \(job.lease.token)")
                let interval = Duration.milliseconds(Int(queue.configuration.leaseDuration * 1000 / 3))
                let end = duration.map { ContinuousClock.now + $0 }
                while end.map({ ContinuousClock.now < $0 }) ?? true {
                    try await Task.sleep(for: interval)
                    try await queue.heartbeat(job.lease)
                }
                try await complete(job.lease)
                try log.flush()
                return
            }
            _ = try await observer.waitForChange(since: version, timeout: idleTimeout)
        }
    }

    private func record(_ job: ClaimedJob) throws {
        try log.append(
            .claim(
                job: job.info.id, token: job.lease.token, pid: pid,
                startedAt: job.info.startedAt?.timeIntervalSince1970 ?? 0,
                queuedAt: job.info.queuedAt.timeIntervalSince1970
            )
        )
    }

    /// Completes the job of `lease`, or logs that the queue refused because the lease was
    /// lost (with a short lease, a worker can wait out its lease for the write lock).
    private func complete(_ lease: Lease) async throws {
        do {
            try await queue.complete(lease, release: 1)
            try log.append(.complete(job: lease.job, token: lease.token, pid: pid, at: Self.now()))
        } catch let error as QueueError where error.isLeaseLost {
            try log.append(.refused(job: lease.job, token: lease.token, pid: pid))
        }
    }

    /// Completes the job of `lease` and claims the next one in the same transaction; when
    /// the lease was lost, logs the refusal and claims on its own.
    private func completeAndClaim(_ lease: Lease) async throws -> ClaimedJob? {
        do {
            let next = try await queue.complete(lease, release: 1, claimingNextAs: identity)
            try log.append(.complete(job: lease.job, token: lease.token, pid: pid, at: Self.now()))
            return next
        } catch let error as QueueError where error.isLeaseLost {
            try log.append(.refused(job: lease.job, token: lease.token, pid: pid))
            return try await queue.claim(as: identity)
        }
    }

    private func isIdle() async throws -> Bool {
        guard try await queue.jobs(state: .queued, limit: 1).isEmpty else { return false }
        return try await queue.jobs(state: .running, limit: 1).isEmpty
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }
}
