import Docker
import NIOCore
import Testing

@testable import API

/// The buffer between a one-off run's output from the engine and its client.
@Suite struct OutputSpoolTests {
    private struct Cut: Error {}

    private func chunk(_ text: String, _ stream: LogStream = .stdout) -> OutputChunk {
        OutputChunk(stream: stream, bytes: ByteBuffer(string: text))
    }

    @Test func appendsUpToTheLimitWithoutWaitingThenWaitsForATake() async throws {
        let spool = OutputSpool(limit: 10)
        await spool.append([chunk("1234")])
        await spool.append([chunk("5678", .stderr)])
        let appended = Task {
            await spool.append([chunk("90ab")])
            return ContinuousClock.now
        }
        try await Task.sleep(for: .milliseconds(200))
        let taken = ContinuousClock.now
        let chunks = try await spool.take()
        #expect(chunks == [chunk("1234"), chunk("5678", .stderr), chunk("90ab")], "all that waited, in order")
        #expect(await appended.value >= taken, "the append past the limit waited for the take")
    }

    @Test func aTickWakesTheTakerWithNothingAndTheEndComesAfterTheOutput() async throws {
        let spool = OutputSpool()
        let taker = Task { try await spool.take() }
        try await Task.sleep(for: .milliseconds(100))
        spool.tick()
        #expect(try await taker.value == [])
        await spool.append([chunk("last")])
        spool.finish(throwing: Cut())
        #expect(try await spool.take() == [chunk("last")])
        await #expect(throws: Cut.self) { try await spool.take() }
        let ended = OutputSpool()
        ended.finish()
        #expect(try await ended.take() == nil)
    }

    @Test func cancellingReleasesBothSides() async throws {
        let spool = OutputSpool(limit: 1)
        let appender = Task { await spool.append([chunk("full")]) }
        try await Task.sleep(for: .milliseconds(100))
        appender.cancel()
        await appender.value
        let empty = OutputSpool()
        let taker = Task { try await empty.take() }
        try await Task.sleep(for: .milliseconds(100))
        taker.cancel()
        await #expect(throws: CancellationError.self) { try await taker.value }
    }
}
