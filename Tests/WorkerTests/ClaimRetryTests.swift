import Docker
import Foundation
import Logging
import MiniCore
import Queue
import Store
import Testing

@testable import Worker

/// A worker whose claims fail stays up and claims again once the store answers.
@Suite struct ClaimRetryTests {
    @Test("A worker keeps trying to claim while the store fails, then takes the queued job")
    func claimsAfterStoreRecovers() async throws {
        let directory = DataDirectory(
            FileManager.default.temporaryDirectory.appendingPathComponent("claim-retry-\(UUID().uuidString)").path)
        try directory.create()
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        let database = try MiniDatabase(path: directory.databasePath)
        let queue = JobQueue(database: database)
        let job = try await queue.enqueue(app: try AppName("retry"), uploadBytes: 1) { id in "/nonexistent/\(id).tar.gz"
        }
        // Every claim fails while the jobs table is away ("no such table: jobs").
        try await database.write { db in try db.execute(sql: "ALTER TABLE jobs RENAME TO jobs_away") }

        var logger = Logger(label: "claim-retry-test")
        logger.logLevel = .critical
        let worker = WorkerService(
            identity: WorkerIdentity(name: "retrying"), queue: queue,
            docker: DockerClient(socketPath: directory.root + "/no-engine.sock", logger: logger),
            configuration: WorkerConfiguration(dataDirectory: directory), logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await worker.run() }
            try await Task.sleep(for: .milliseconds(2500))  // two or three failed claims
            try await database.write { db in try db.execute(sql: "ALTER TABLE jobs_away RENAME TO jobs") }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await queue.job(job.id).attempt == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await queue.job(job.id).attempt >= 1, "the worker claimed the job once the store answered")
            group.cancelAll()
        }
    }
}
