import Foundation
import MiniCore
import Queue
import Store

/// One measured run: a fresh data directory with its own SQLite file, the queue on it, and
/// a folder for the claim logs of its workers.
struct BenchRun {
    let directory: DataDirectory
    let queue: JobQueue
    var claimsPath: String { directory.root + "/claims" }

    init(path: String) throws {
        directory = DataDirectory(path)
        try directory.create()
        try FileManager.default.createDirectory(atPath: directory.root + "/claims", withIntermediateDirectories: true)
        queue = JobQueue(database: try MiniDatabase(path: directory.databasePath))
    }

    /// Enqueues a no-op job of its own app (one app per job: the queue runs one job per app
    /// at a time and supersedes older queued deploys of an app).
    func enqueue(index: Int) async throws -> JobID {
        let directory = directory
        return try await queue.enqueue(app: try AppName("app-\(index)"), uploadBytes: 0) {
            directory.uploadPath(job: $0)
        }.id
    }

    func spawnWorkers(count: Int, mode: WorkerCommand.Mode) throws -> [WorkerProcess] {
        try WorkerProcess.spawn(
            count: count, database: directory.databasePath,
            logPath: { "\(claimsPath)/worker-\($0).\(ClaimLog.fileExtension)" },
            extraArguments: ["--mode", mode.rawValue]
        )
    }

    /// Polls until `count` jobs succeeded.
    func waitUntilSucceeded(count: Int, timeout: TimeInterval) async throws {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while try await queue.statistics().jobs[.succeeded, default: 0] < count {
            guard Date() < deadline else {
                throw BenchError("the workers did not finish \(count) jobs within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Audits the claim logs; a job that the logs show completed but the database does not
    /// (or the other way round) counts as lost.
    func audit(enqueued: [JobID], leaseDuration: Double) async throws -> ClaimAudit {
        let audit = ClaimAudit(
            records: try ClaimLog.records(in: claimsPath), enqueued: enqueued, leaseDuration: leaseDuration
        )
        let succeeded = try await queue.statistics().jobs[.succeeded, default: 0]
        guard succeeded == enqueued.count else {
            throw BenchError("\(enqueued.count - succeeded) of \(enqueued.count) jobs did not succeed in the database")
        }
        return audit
    }
}
