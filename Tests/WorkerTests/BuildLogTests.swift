import Foundation
import MiniCore
import Queue
import Store
import Testing

@testable import Worker

/// The build log on a real SQLite queue and a real file.
@Suite("build log")
struct BuildLogTests {
    @Test("A log stops growing at its limit, with a last line that says so; the lease still fences it")
    func logStopsAtItsLimit() async throws {
        try await withClaimedJob { queue, claimed, path in
            var log = BuildLog(path: path, lease: claimed.lease, queue: queue)
            log.maxBytes = 1_000

            let line = String(repeating: "x", count: 49)  // 50 bytes with its newline
            for _ in 0..<100 { try await log.append(line) }
            let text = try String(contentsOfFile: log.path, encoding: .utf8)
            let lines = text.split(separator: "\n")
            #expect(lines.count == 21, "20 lines fill the 1,000 bytes, then the note")
            #expect(lines.last?.hasPrefix("-----> The build log stops here") == true)
            try await log.append("more")
            #expect(try String(contentsOfFile: log.path, encoding: .utf8) == text)

            _ = try await queue.cancel(claimed.info.id)
            await #expect(throws: QueueError.self) { try await log.append("after the lease is gone") }
        }
    }

    @Test("Lines that came together are written in one fenced write, empty ones kept")
    func linesTogether() async throws {
        try await withClaimedJob { queue, claimed, path in
            let log = BuildLog(path: path, lease: claimed.lease, queue: queue)
            try await log.append(lines: ["Step 1/2", "", "output", ""])
            try await log.append("next")
            #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "Step 1/2\n\noutput\n\nnext\n")
            _ = try await queue.cancel(claimed.info.id)
            await #expect(throws: QueueError.self) { try await log.append(lines: ["after the lease is gone"]) }
        }
    }

    @Test("A logs folder removed while minid runs is made again by the next line")
    func logsFolderMadeAgain() async throws {
        try await withClaimedJob { queue, claimed, path in
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.removeItem(atPath: folder)
            try await BuildLog(path: path, lease: claimed.lease, queue: queue).append("first line")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "first line\n")
            let mode = try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int
            #expect(mode == 0o700)
        }
    }

    /// Runs `body` with a real queue in a fresh data folder, a job claimed from it, and the
    /// path of that job's log.
    private func withClaimedJob(_ body: (JobQueue, ClaimedJob, String) async throws -> Void) async throws {
        let directory = DataDirectory(
            FileManager.default.temporaryDirectory.appendingPathComponent("buildlog-\(UUID().uuidString)").path)
        try directory.create()
        defer { try? FileManager.default.removeItem(atPath: directory.root) }
        let queue = JobQueue(database: try MiniDatabase(path: directory.databasePath))
        _ = try await queue.enqueue(app: try AppName("app"), uploadBytes: 1) { id in "/nonexistent/\(id).tar.gz" }
        let claimed = try #require(try await queue.claim(as: WorkerIdentity(name: "w")))
        try await body(queue, claimed, directory.logPath(job: claimed.info.id))
    }
}
