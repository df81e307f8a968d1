import Logging
import ServiceLifecycle
import Store

/// Keeps the queue tidy while the API runs: rescues expired leases (so a job of a dead
/// worker comes back even when no worker is claiming) and those of this machine's workers
/// whose process is gone, deletes uploads of ended jobs and prunes old jobs and their logs.
public struct QueueJanitor: Service {
    let queue: JobQueue
    let dataDirectory: DataDirectory
    let keepPerApp: Int
    let interval: Duration
    let logger: Logger

    /// - Parameter keepPerApp: Ended jobs kept per app, with their build logs. Default 20.
    public init(
        queue: JobQueue, dataDirectory: DataDirectory, keepPerApp: Int = 20,
        interval: Duration = .seconds(5), logger: Logger
    ) {
        self.queue = queue
        self.dataDirectory = dataDirectory
        self.keepPerApp = keepPerApp
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await queue.rescueExpiredLeases()
                    let rescued = try await queue.rescueLeasesOfExitedWorkers()
                    if rescued > 0 {
                        logger.warning("rescued the jobs of workers that are gone", metadata: ["jobs": "\(rescued)"])
                    }
                    let pruned = try await queue.prune(keepPerApp: keepPerApp, logPath: dataDirectory.logPath(job:))
                    if pruned.jobsDeleted > 0 {
                        logger.info("pruned old jobs", metadata: ["jobs": "\(pruned.jobsDeleted)"])
                    }
                } catch {
                    logger.warning("queue maintenance failed", metadata: ["error": "\(error)"])
                }
                // Cancelled by a graceful shutdown: the loop ends, and the service with it.
                try? await Task.sleep(for: interval)
            }
        }
    }
}
