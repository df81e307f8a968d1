import Foundation
import MiniCore
import Testing

@testable import Store

/// How waiting processes learn of commits: inotify on the WAL file, real SQLite files.
@Suite("change observer")
struct ChangeObserverTests {
    @Test("a write to a watched file wakes the waiter at once; without one it waits its time")
    func fileWritesWake() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writes-\(UUID().uuidString)").path
        try Data().write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let signal = try #require(FileWriteSignal(path: path), "inotify could not watch \(path)")

        let idle = ContinuousClock.now
        await signal.wait(upTo: .milliseconds(300))
        #expect(ContinuousClock.now - idle >= .milliseconds(290), "woke without a write")

        // One write wakes every waiter.
        let waiting = (0..<2).map { _ in Task { await signal.wait(upTo: .seconds(30)) } }
        try await Task.sleep(for: .milliseconds(100))
        let written = ContinuousClock.now
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.write(contentsOf: Data("x".utf8))
        try handle.close()
        for waiter in waiting { #expect(await waiter.value, "a waiter was not woken by the write") }
        #expect(ContinuousClock.now - written < .seconds(10), "the write did not wake the waiters")

        // A wait cancelled ends at once.
        let cancelled = Task { await signal.wait(upTo: .seconds(30)) }
        let cancelledAt = ContinuousClock.now
        cancelled.cancel()
        _ = await cancelled.value
        #expect(ContinuousClock.now - cancelledAt < .seconds(10))

        // A deleted file is no longer watched, and says so (its waiters then poll).
        #expect(signal.isWatching)
        try FileManager.default.removeItem(atPath: path)
        await signal.wait(upTo: .seconds(30))
        #expect(!signal.isWatching)
    }

    @Test("a commit by another connection ends a wait with the new version")
    func commitsEndWaits() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("observed-\(UUID().uuidString).sqlite")
            .path
        defer {
            for suffix in ["", "-wal", "-shm", "-migrate.lock"] {
                try? FileManager.default.removeItem(atPath: path + suffix)
            }
        }
        let database = try MiniDatabase(path: path)
        let observer = try database.makeChangeObserver()
        let before = try observer.version()
        let waiting = Task { try await observer.waitForChange(since: before, timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        let committed = ContinuousClock.now
        _ = try await database.write { db in try AppStore.ensureApp(try AppName("observed"), in: db) }
        let after = try await waiting.value
        #expect(after != before)
        #expect(ContinuousClock.now - committed < .seconds(10))
    }
}
