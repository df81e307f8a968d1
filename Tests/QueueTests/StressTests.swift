import Foundation
import MiniCore
import Store
import Testing

@testable import Queue

/// The queue under real worker processes on one SQLite file: the `QueueBench` executable
/// (bench/queue) in its `worker` role, which claims through the real ``JobQueue`` and logs
/// every claim with the queue's own timestamps.
@Suite("job queue with several worker processes", .serialized)
final class StressTests {
    let directory: DataDirectory
    let queue: JobQueue
    let lease: TimeInterval = 1.5

    init() throws {
        directory = DataDirectory(
            FileManager.default.temporaryDirectory.appendingPathComponent("queue-stress-\(UUID().uuidString)").path
        )
        try directory.create()
        var configuration = JobQueue.Configuration()
        configuration.leaseDuration = lease
        queue = JobQueue(database: try MiniDatabase(path: directory.databasePath), configuration: configuration)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory.root) }

    @Test("4 processes claim 3,000 jobs, some abandoned: none lost, none held by two live leases, each completed once")
    func manyProcesses() async throws {
        let jobCount = 3_000
        let shortLease = 0.5
        var enqueued: [JobID] = []
        for index in 0..<jobCount {
            enqueued.append(
                try await queue.enqueue(app: try AppName("app-\(index)"), uploadBytes: 0) { _ in "/nonexistent" }.id)
        }
        let workers = try (0..<4).map { index in
            try WorkerProcess(
                directory: directory, index: index, mode: "drain", lease: shortLease, abandonEvery: 97
            )
        }
        for worker in workers {
            try await worker.waitForExit()
        }

        let log = try ClaimLogs(folder: directory.root)
        #expect(Set(log.completions.keys) == Set(enqueued), "every job was completed")
        #expect(log.completions.values.allSatisfy { $0.count == 1 }, "no job was completed twice")
        let tokens = log.claims.values.flatMap { $0.map(\.token) }
        #expect(Set(tokens).count == tokens.count, "every claim has a fresh token")
        for (job, claims) in log.claims {
            let completedWith = log.completions[job]?.first
            for (earlier, later) in zip(claims, claims.dropFirst()) {
                #expect(earlier.token != completedWith, "job \(job) was claimed again after it was completed")
                #expect(
                    later.startedAt >= earlier.startedAt + shortLease - 0.001,
                    "job \(job) was claimed while an earlier lease on it was live"
                )
            }
            #expect(claims.last?.token == completedWith, "job \(job) was completed by its newest lease")
            #expect(try await queue.job(job).attempt == claims.count)
        }
        let replacedLeases = log.claims.values.map { $0.count - 1 }.reduce(0, +)
        #expect(replacedLeases > 0, "abandoned jobs were claimed again after their lease expired")
        #expect(
            log.refusals.count == replacedLeases,
            "each replaced lease tried to complete its job, and the queue refused every one"
        )
        #expect(try await queue.statistics().jobs[.succeeded] == jobCount)
    }

    @Test(
        "a SIGKILLed worker's job is claimed again once its lease expires, finishes once, and its late writes are refused"
    )
    func killedWorker() async throws {
        let job = try await queue.enqueue(app: try AppName("victim"), uploadBytes: 0) { _ in "/nonexistent" }
        let holder = try WorkerProcess(directory: directory, index: 0, mode: "hold", lease: lease)
        let held = try await holder.heldLease()
        #expect(held.job == job.id)

        try await Task.sleep(for: .seconds(lease * 1.5))
        await #expect(
            try queue.claim(as: WorkerIdentity(name: "thief"))?.info.id == nil,
            "the living worker's heartbeats keep its lease beyond the lease duration"
        )

        kill(holder.pid, SIGKILL)
        let killedAt = Date().timeIntervalSince1970
        #expect(try await holder.waitForSignal() == SIGKILL)

        // A second worker takes the job over once the lease expired, holds it a while, then
        // completes it. While it holds the job, the killed worker's writes must be refused by
        // the token alone (the job is `running` again).
        let rescuer = try WorkerProcess(directory: directory, index: 1, mode: "hold", lease: lease, holdFor: 2)
        let rescued = try await rescuer.heldLease()
        #expect(rescued.job == job.id)
        #expect(rescued.token != held.token)
        let stale = Lease(job: job.id, token: held.token, owner: "killed")
        await #expect(throws: QueueError.leaseLost(job.id)) { try await queue.heartbeat(stale) }
        await #expect(throws: QueueError.leaseLost(job.id)) { try await queue.complete(stale, release: 99) }
        await #expect(throws: QueueError.leaseLost(job.id)) {
            try await queue.fail(stale, .permanent(reason: "late", error: "written after the kill"))
        }
        await #expect(throws: QueueError.leaseLost(job.id)) { try await queue.release(stale) }
        #expect(try await queue.job(job.id).state == .running, "the refused writes changed nothing")
        try await rescuer.waitForExit()

        let log = try ClaimLogs(folder: directory.root)
        let claims = try #require(log.claims[job.id])
        try #require(claims.count == 2, "claimed by the killed worker, then once more")
        #expect(claims.map(\.token) == [held.token, rescued.token])
        #expect(
            claims[1].startedAt >= killedAt + lease / 3,
            "claimed again only once the lease expired: heartbeats come every third of a lease, so it outlives the kill"
        )
        #expect(log.completions[job.id] == [rescued.token], "finished once, by the second lease")
        let ended = try await queue.job(job.id)
        #expect(ended.state == .succeeded)
        #expect(ended.attempt == 2)
        #expect(ended.release == 1)
        #expect(ended.error == nil)
    }
}

/// A `QueueBench worker` child process on the suite's database.
private struct WorkerProcess {
    private let process = Process()
    let logPath: String
    var pid: Int32 { process.processIdentifier }

    init(
        directory: DataDirectory, index: Int, mode: String, lease: Double, abandonEvery: Int = 0,
        holdFor: Double? = nil
    ) throws {
        logPath = "\(directory.root)/worker-\(index).claims"
        process.executableURL = try Self.executable()
        process.arguments =
            [
                "worker", "--database", directory.databasePath, "--log", logPath, "--mode", mode,
                "--lease", "\(lease)", "--abandon-every", "\(abandonEvery)", "--name", "stress-\(index)",
            ] + (holdFor.map { ["--hold-for", "\($0)"] } ?? [])
        process.standardInput = FileHandle.nullDevice  // closed at once: drain workers start right away
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until a `hold` worker logged its claim, and returns it.
    func heldLease() async throws -> (job: JobID, token: String) {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            if FileManager.default.fileExists(atPath: logPath),
                let (job, claims) = try ClaimLogs(files: [logPath]).claims.first, let claim = claims.first
            {
                return (job, claim.token)
            }
            try #require(process.isRunning, "the holding worker exited before it claimed")
            try #require(ContinuousClock.now < deadline, "the holding worker claimed nothing within 30 s")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func waitForExit() async throws {
        try await waitUntilEnded()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "worker \(pid) failed")
    }

    /// Waits for the process to end and returns the signal that ended it, or nil.
    func waitForSignal() async throws -> Int32? {
        try await waitUntilEnded()
        return process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }

    private func waitUntilEnded() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning {
            try #require(ContinuousClock.now < deadline, "worker \(pid) still runs after 30 s")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The `QueueBench` executable built next to this test binary (or at `$MINI_QUEUE_BENCH`).
    private static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["MINI_QUEUE_BENCH"] {
            return URL(fileURLWithPath: path)
        }
        let testBinary = try #require(Bundle.main.executableURL).resolvingSymlinksInPath()
        let folders = sequence(first: testBinary.deletingLastPathComponent()) { $0.deletingLastPathComponent() }
        let found = folders.prefix(4).map { $0.appendingPathComponent("QueueBench") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        return try #require(
            found,
            "no QueueBench executable near \(testBinary.path); build the package with `swift build --build-tests`"
        )
    }
}

/// The claim logs the workers wrote: tab-separated `claim`, `complete` and `refused` lines.
private struct ClaimLogs {
    struct Claim {
        var token: String
        var startedAt: Double
    }

    /// Claims per job, oldest first.
    var claims: [JobID: [Claim]] = [:]
    /// Tokens that completed each job.
    var completions: [JobID: [String]] = [:]
    /// Jobs whose completion the queue refused, once per refused lease.
    var refusals: [JobID] = []

    /// Reads every `.claims` file in `folder`.
    init(folder: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".claims") }
        try self.init(files: names.map { "\(folder)/\($0)" })
    }

    init(files: [String]) throws {
        for file in files {
            for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: "\t")
                let job = try #require(JobID(fields[1]), "unreadable claim log line: \(line)")
                switch fields[0] {
                case "claim":
                    claims[job, default: []].append(
                        Claim(token: String(fields[2]), startedAt: try #require(Double(fields[4]))))
                case "complete":
                    completions[job, default: []].append(String(fields[2]))
                case "refused":
                    refusals.append(job)
                default:
                    Issue.record("unknown claim log line: \(line)")
                }
            }
        }
        for job in claims.keys {
            claims[job]?.sort { $0.startedAt < $1.startedAt }
        }
    }
}
