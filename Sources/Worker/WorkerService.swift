import AsyncHTTPClient
import Docker
import Foundation
import Logging
import MiniCore
import Queue
import ServiceLifecycle
import Store

/// A worker: claims build jobs one at a time and deploys them, holding each job's lease
/// while it works. On graceful shutdown it hands a running job back to the queue.
public struct WorkerService: Service {
    let identity: WorkerIdentity
    let queue: JobQueue
    let apps: AppStore
    let docker: DockerClient
    let httpClient: HTTPClient
    let configuration: WorkerConfiguration
    let logger: Logger

    public init(
        identity: WorkerIdentity, queue: JobQueue, docker: DockerClient,
        httpClient: HTTPClient = .instanceProbes, configuration: WorkerConfiguration, logger: Logger
    ) {
        self.identity = identity
        self.queue = queue
        self.apps = AppStore(database: queue.database)
        self.docker = docker
        self.httpClient = httpClient
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let observer = try queue.database.makeChangeObserver()
        logger.info("worker ready", metadata: ["worker": "\(identity)"])
        // Old releases are retired (drained, then stopped) beside the next jobs: a drain can
        // take up to the drain timeout, and the worker need not wait for it.
        try await withThrowingDiscardingTaskGroup { retirements in
            var failedClaims = 0
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let seen: Int
                let claimed: ClaimedJob?
                do {
                    seen = try observer.version()
                    claimed = try await queue.claim(as: identity)
                } catch {
                    // The store is busy past its timeout, or the disk failed: the worker stays up,
                    // so that the old releases it is retiring still stop, and tries again; after
                    // half a minute it gives up, for its supervisor to start it afresh.
                    failedClaims += 1
                    guard failedClaims < 30 else { throw error }
                    logger.error("cannot claim a job; trying again in 1 s", metadata: ["error": "\(error)"])
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
                    continue
                }
                failedClaims = 0
                if let job = claimed {
                    if let retire = await process(job) {
                        retirements.addTask { await retire() }
                    }
                    continue
                }
                do {
                    try await cancelWhenGracefulShutdown {
                        _ = try await observer.waitForChange(since: seen, timeout: configuration.idleWait)
                    }
                } catch is CancellationError {
                    // A graceful shutdown: the loop ends.
                }
            }
        }
        logger.info("worker stopped", metadata: ["worker": "\(identity)"])
    }

    /// Runs one job to its end: success, failure, lease loss, timeout or shutdown. After a
    /// release, returns the retirement of the previous one, which no longer needs the job.
    func process(_ job: ClaimedJob) async -> (@Sendable () async -> Void)? {
        let lease = job.lease
        var logger = logger
        logger[metadataKey: "job"] = "\(lease.job)"
        logger.info("claimed job", metadata: ["app": "\(job.info.app)", "attempt": "\(job.info.attempt)"])
        let log = BuildLog(path: configuration.dataDirectory.logPath(job: lease.job), lease: lease, queue: queue)
        if job.info.attempt > 1, let reason = job.info.reason {
            try? await log.append("-----> Attempt \(job.info.attempt - 1) ended (\(reason)): starting again")
        }
        let pipeline = DeployPipeline(
            job: job, docker: docker, httpClient: httpClient, queue: queue, apps: apps, log: log,
            configuration: configuration, logger: logger
        )
        // The lease lives until the job has ended: after a cancel request too, while the
        // pipeline removes what it started.
        let heartbeat = Task { await beat(lease) }
        let outcome = await withGracefulShutdownHandler {
            await race(pipeline: pipeline, lease: lease)
        } onGracefulShutdown: { [logger] in
            logger.info("shutting down: handing the job back")
        }
        await finish(job, outcome: outcome, log: log, logger: logger)
        heartbeat.cancel()
        guard case .released(let released) = outcome else { return nil }
        return { await pipeline.retire(released) }
    }

    enum Outcome {
        case released(DeployPipeline.Released)
        case failed(any Error)
        case leaseLost
        case timedOut
        case shutdown
    }

    /// Runs the pipeline against the lease watch, the build timeout and shutdown: the first
    /// to end decides, and the others are cancelled (dropping a Docker build cancels it),
    /// unless the pipeline still released: its job has then ended `succeeded`.
    private func race(pipeline: DeployPipeline, lease: Lease) async -> Outcome {
        await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    return .released(try await pipeline.run())
                } catch let error as QueueError where error.isLeaseLost {
                    return .leaseLost
                } catch {
                    return .failed(error)
                }
            }
            group.addTask { await watchLease(lease) }
            group.addTask { [timeout = configuration.buildTimeout] in
                do { try await Task.sleep(for: timeout) } catch { return .shutdown }
                return .timedOut
            }
            group.addTask {
                do { try await gracefulShutdown() } catch { return .shutdown }
                return .shutdown
            }
            var outcome = await group.next() ?? .shutdown
            group.cancelAll()
            while let other = await group.next() {
                if case .released = other { outcome = other }
            }
            return outcome
        }
    }

    /// Checks often whether the lease still holds the job without a cancel request. Returns
    /// only when it does not.
    private func watchLease(_ lease: Lease) async -> Outcome {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.leaseCheckInterval)
                if try await !queue.holds(lease) { return .leaseLost }
            } catch is CancellationError {
                break
            } catch {
                logger.warning("lease check failed", metadata: ["error": "\(error)"])
            }
        }
        return .shutdown
    }

    /// Heartbeats every third of the lease until cancelled or the lease is gone.
    private func beat(_ lease: Lease) async {
        let interval = Duration.seconds(queue.configuration.leaseDuration / 3)
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                try await queue.heartbeat(lease)
            } catch let error as QueueError where error.isLeaseLost {
                return
            } catch is CancellationError {
                return
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The fence refused this worker, which has stopped and removed what it started: a user
    /// asked to cancel the job, or its lease expired and another worker may hold it now. A
    /// cancelled job ends here, so that its app takes the next job only now.
    private func endAfterLosingTheFence(_ lease: Lease, logger: Logger) async throws {
        if try await queue.endIfDecided(lease) {
            logger.info("job ended as decided while it ran (cancelled, or its release published)")
        } else {
            logger.warning("lease lost: stopped the build and wrote nothing more")
        }
    }

    private func finish(_ job: ClaimedJob, outcome: Outcome, log: BuildLog, logger: Logger) async {
        let lease = job.lease
        do {
            switch outcome {
            case .released(let released):
                // Decided by the publish, even when recording the completion failed.
                if !released.isRecorded { try await queue.endIfDecided(lease) }
                logger.info("job succeeded", metadata: ["release": "v\(released.version)"])
            case .leaseLost:
                try await endAfterLosingTheFence(lease, logger: logger)
            case .timedOut:
                let message =
                    "the job (build, release command, start and health checks) ran longer than "
                    + "\(configuration.buildTimeout)"
                try? await log.append("-----> Failed: \(message)")
                try await queue.fail(lease, .permanent(reason: "timed out", error: message))
            case .shutdown:
                try? await log.append(
                    "-----> The worker is stopping: it hands the job back to the queue, unless it was cancelled or replaced meanwhile"
                )
                try await queue.release(lease)
            case .failed(let error as DeployFailure):
                try? await log.append("-----> Failed: \(error)")
                try await queue.fail(lease, error.failure)
                logger.info("job failed", metadata: ["error": "\(error)"])
            case .failed(let error as DockerError) where error.code == .daemonUnreachable:
                try? await log.append("-----> Docker is unreachable: \(error.message)")
                try await queue.fail(lease, .transient(reason: "docker unreachable", error: error.message))
            case .failed(let error):
                try? await log.append("-----> Failed: \(error)")
                try await queue.fail(lease, .transient(reason: "worker error", error: "\(error)"))
                logger.error("job failed", metadata: ["error": "\(error)"])
            }
        } catch {
            logger.warning("could not record the job's end", metadata: ["error": "\(error)"])
        }
        // The build context is not needed once the job has ended; a queued retry keeps it.
        if (try? await queue.job(lease.job).state.isFinal) == true {
            try? FileManager.default.removeItem(atPath: job.uploadPath)
        }
    }
}
