import Foundation
import Logging
import ServiceLifecycle

/// Runs N worker child processes and keeps them running: a worker that dies is started
/// again after a backoff (1 s, doubling to 30 s, reset after a minute of uptime), so a
/// crashed build never takes the API down. On graceful shutdown each child gets SIGTERM and
/// hands its running job back to the queue; one that does not exit within the grace period
/// gets SIGKILL. Whenever a child exits, `childExited` learns of it, so that the jobs it
/// still held go back to the queue at once rather than when their leases run out.
public struct WorkerSupervisor: Service {
    let count: Int
    let executable: URL
    let arguments: @Sendable (_ index: Int) -> [String]
    let childExited: @Sendable (_ index: Int, _ pid: Int32) async -> Void
    let gracePeriod: Duration
    let logger: Logger

    /// - Parameters:
    ///   - executable: The `minid` binary.
    ///   - arguments: The arguments of worker number `index` (from 1).
    ///   - childExited: Called with the index and process id of every child that exited.
    public init(
        count: Int, executable: URL, gracePeriod: Duration = .seconds(30), logger: Logger,
        arguments: @escaping @Sendable (_ index: Int) -> [String],
        childExited: @escaping @Sendable (_ index: Int, _ pid: Int32) async -> Void
    ) {
        self.count = count
        self.executable = executable
        self.arguments = arguments
        self.childExited = childExited
        self.gracePeriod = gracePeriod
        self.logger = logger
    }

    public func run() async throws {
        guard count > 0 else {
            // Nothing to supervise; returning early would end the whole service group.
            try? await gracefulShutdown()
            return
        }
        await withDiscardingTaskGroup { group in
            for index in 1...count {
                group.addTask { await supervise(index: index) }
            }
        }
    }

    private func supervise(index: Int) async {
        var backoff = Duration.seconds(1)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status: Int32
            do {
                status = try await runChild(index: index)
            } catch {
                logger.error("could not start worker", metadata: ["worker": "\(index)", "error": "\(error)"])
                status = -1
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            if ContinuousClock.now - started > .seconds(60) { backoff = .seconds(1) }
            logger.warning(
                "worker exited; restarting",
                metadata: ["worker": "\(index)", "status": "\(status)", "backoff": "\(backoff)"]
            )
            try? await cancelWhenGracefulShutdown { [backoff] in try await Task.sleep(for: backoff) }
            backoff = min(backoff * 2, .seconds(30))
        }
    }

    /// Starts one child and waits for it to exit; on shutdown, stops it gracefully first.
    private func runChild(index: Int) async throws -> Int32 {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments(index)
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        logger.info("worker started", metadata: ["worker": "\(index)", "pid": "\(process.processIdentifier)"])
        let status = await withGracefulShutdownHandler {
            var status: Int32 = -1
            for await value in exited.stream { status = value }
            return status
        } onGracefulShutdown: { [gracePeriod, logger] in
            let pid = process.processIdentifier
            kill(pid, SIGTERM)
            Task {
                try? await Task.sleep(for: gracePeriod)
                if process.isRunning {
                    logger.warning("worker did not stop in time; killing it", metadata: ["pid": "\(pid)"])
                    kill(pid, SIGKILL)
                }
            }
        }
        // Also reached when the service is cancelled, with the child still running.
        if !process.isRunning { await childExited(index, process.processIdentifier) }
        return status
    }
}

/// Ends the current process's services when its parent process dies, so worker children
/// never outlive a `minid serve` that was killed with SIGKILL.
public struct ParentWatch: Service {
    let parent: Int32
    let interval: Duration

    public init(parent: Int32, interval: Duration = .milliseconds(500)) {
        self.parent = parent
        self.interval = interval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Cancelled by a graceful shutdown: the loop ends, and the service with it.
            while getppid() == parent && !Task.isCancelled {
                try? await Task.sleep(for: interval)
            }
        }
        // Returning ends the service group, which shuts the worker down gracefully.
    }
}
