import ArgumentParser
import Dispatch
import Foundation
import Queue
import Store

/// The worker role: one process claiming jobs from the database at `--database`.
///
/// It prints `ready` once the database is open, then:
/// - `drain`: waits until its standard input is closed (the start signal, so that all
///   workers start together), then claims and completes jobs until none is queued or
///   running, and exits;
/// - `wait`: claims and completes jobs, waiting on `PRAGMA data_version` while idle, until
///   SIGTERM;
/// - `hold`: claims one job, prints `holding <job> <token>` and heartbeats its lease for
///   `--hold-for` seconds, then completes it (without `--hold-for`: until the lease is lost
///   or the process is killed).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Claim jobs as one worker process (started by the benchmark and the tests)."
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case drain, wait, hold
    }

    @Option(help: "The SQLite file of the queue.")
    var database: String

    @Option(help: "Where to write this process's claim log.")
    var log: String

    @Option(help: "What to do: \(Mode.allCases.map(\.rawValue).joined(separator: ", ")).")
    var mode: Mode = .drain

    @Option(help: "Lease duration in seconds.")
    var lease: Double = 30

    @Option(help: "Abandon every n-th first-attempt claim instead of completing it (0: never).")
    var abandonEvery: Int = 0

    @Option(help: "In hold mode, complete the held job after this many seconds.")
    var holdFor: Double?

    @Option(help: "The worker's name in lease owners.")
    var name = "bench"

    func run() async throws {
        var configuration = JobQueue.Configuration()
        configuration.leaseDuration = lease
        let database = try MiniDatabase(path: database)
        let worker = BenchWorker(
            queue: JobQueue(database: database, configuration: configuration),
            observer: try database.makeChangeObserver(),
            identity: WorkerIdentity(name: name),
            log: try ClaimLog(path: log, flushesEveryRecord: mode == .hold),
            abandonEvery: abandonEvery
        )
        StandardStreams.writeLine("ready")
        switch mode {
        case .drain:
            await StandardStreams.waitForEndOfInput()
            try await worker.serve(stopWhenIdle: true)
        case .wait:
            try await Self.untilTerminated { try await worker.serve(stopWhenIdle: false) }
        case .hold:
            try await worker.hold(for: holdFor.map { .milliseconds(Int($0 * 1000)) })
        }
    }

    /// Runs `body` and cancels it when the process receives SIGTERM.
    private static func untilTerminated(_ body: sending @escaping () async throws -> Void) async throws {
        signal(SIGTERM, SIG_IGN)
        let task = Task { try await body() }
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        defer { source.cancel() }
        try await task.value
    }
}

/// The worker's conversation with its coordinator: lines out, end of input as the signal.
enum StandardStreams {
    /// Writes `line` to standard output at once (unbuffered, so a pipe sees it now).
    static func writeLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Returns once standard input is closed, without blocking a concurrency thread.
    static func waitForEndOfInput() async {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                _ = try? FileHandle.standardInput.readToEnd()
                continuation.resume()
            }
        }
    }
}
