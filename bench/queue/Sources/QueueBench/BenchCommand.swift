import ArgumentParser
import Foundation
import MiniCore
import Queue
import Store

/// The coordinator role: measures enqueue, claim+complete with 1, 2, 4 and 8 worker
/// processes, and enqueue→claim wake-up latency, each on a fresh SQLite file, and audits
/// every claim for double claims and lost jobs.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the queue benchmark (the default)."
    )

    @Option(help: "No-op jobs per throughput run.")
    var jobs = 20_000

    @Option(parsing: .upToNextOption, help: "Worker process counts to measure claim+complete with.")
    var processes = [1, 2, 4, 8]

    @Option(help: "Jobs enqueued one by one for the wake-up measurement.")
    var wakeUpJobs = 200

    @Option(help: "Idle worker processes waiting for those jobs.")
    var wakeUpProcesses = 4

    @Option(help: "Where to create the databases (default: a new temporary folder, removed afterwards).")
    var directory: String?

    /// The process count of the headline figure.
    private static let headlineProcesses = 4
    /// The lease of the measured runs; long enough never to expire during a run.
    private static let leaseDuration = 30.0

    func validate() throws {
        guard jobs > 0, wakeUpJobs > 0, wakeUpProcesses > 0, !processes.isEmpty, processes.allSatisfy({ $0 > 0 })
        else { throw ValidationError("job and process counts must be positive") }
    }

    func run() async throws {
        let root =
            directory
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("queue-bench-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: root) } }
        print("queue benchmark: \(jobs) no-op jobs per run, one SQLite file per run in \(root)")
        print("load average before: \(Self.loadAverage()) on \(ProcessInfo.processInfo.activeProcessorCount) CPUs")
        print("")
        print(Self.row("processes", "enqueue jobs/s", "claim+complete jobs/s", "double claims", "lost"))
        var throughputs: [Int: ThroughputResult] = [:]
        for count in processes {
            let result = try await measureThroughput(processes: count, in: "\(root)/throughput-\(count)")
            throughputs[count] = result
            print(
                Self.row(
                    "\(count)", Self.formatted(result.enqueueRate), Self.formatted(result.claimRate),
                    "\(result.audit.doubleClaims.count)", "\(result.audit.lost.count)"
                )
            )
        }
        let wakeUp = try await measureWakeUp(in: "\(root)/wake-up")
        let wakeUps = wakeUp.wakeUps.map { $0 * 1000 }
        let p50 = Self.percentile(0.5, of: wakeUps)
        let p99 = Self.percentile(0.99, of: wakeUps)
        print("")
        print(
            "wake-up: \(wakeUpProcesses) idle worker processes, \(wakeUpJobs) jobs enqueued one by one every 10-30 ms")
        print(
            "  enqueue->claim p50 \(Self.formatted(p50, digits: 1)) ms, p99 \(Self.formatted(p99, digits: 1)) ms, "
                + "double claims \(wakeUp.doubleClaims.count), lost \(wakeUp.lost.count)"
        )
        print("load average after: \(Self.loadAverage())")
        print("")

        let audits = throughputs.values.map(\.audit) + [wakeUp]
        let doubleClaims = audits.map(\.doubleClaims.count).reduce(0, +)
        let lost = audits.map(\.lost.count).reduce(0, +)
        let headline = throughputs[Self.headlineProcesses] != nil ? Self.headlineProcesses : processes.last!
        print(
            "queue: \(Int(throughputs[headline]!.claimRate)) jobs/s claim+complete with \(headline) processes, "
                + "p50 wake-up \(Self.formatted(p50, digits: 1)) ms, double claims \(doubleClaims)"
        )
        if doubleClaims > 0 || lost > 0 {
            throw ExitCode.failure
        }
    }

    struct ThroughputResult {
        var enqueueRate: Double
        var claimRate: Double
        var audit: ClaimAudit
    }

    /// Enqueues ``jobs`` jobs, then lets `count` worker processes drain the queue.
    private func measureThroughput(processes count: Int, in path: String) async throws -> ThroughputResult {
        let run = try BenchRun(path: path)
        let enqueueStart = ContinuousClock.now
        var enqueued: [JobID] = []
        for index in 0..<jobs { enqueued.append(try await run.enqueue(index: index)) }
        let enqueueRate = Double(jobs) / (ContinuousClock.now - enqueueStart).seconds

        let workers = try run.spawnWorkers(count: count, mode: .drain)
        let start = Date().timeIntervalSince1970
        for worker in workers { try worker.start() }
        for worker in workers { try worker.waitForExit() }
        let audit = try await run.audit(enqueued: enqueued, leaseDuration: Self.leaseDuration)
        let elapsed = (audit.lastCompletion ?? start) - start
        return ThroughputResult(enqueueRate: enqueueRate, claimRate: Double(jobs) / elapsed, audit: audit)
    }

    /// Enqueues ``wakeUpJobs`` jobs one at a time while ``wakeUpProcesses`` idle workers
    /// wait for changes.
    private func measureWakeUp(in path: String) async throws -> ClaimAudit {
        let run = try BenchRun(path: path)
        let workers = try run.spawnWorkers(count: wakeUpProcesses, mode: .wait)
        try await Task.sleep(for: .milliseconds(200))
        var enqueued: [JobID] = []
        for index in 0..<wakeUpJobs {
            enqueued.append(try await run.enqueue(index: index))
            try await Task.sleep(for: .milliseconds(Int.random(in: 10...30)))
        }
        try await run.waitUntilSucceeded(count: wakeUpJobs, timeout: 30)
        for worker in workers { worker.stop() }
        for worker in workers { try worker.waitForExit() }
        return try await run.audit(enqueued: enqueued, leaseDuration: Self.leaseDuration)
    }

    private static func row(_ columns: String...) -> String {
        zip(columns, [9, 16, 23, 15, 6]).map { column, width in
            String(repeating: " ", count: max(0, width - column.count)) + column
        }.joined(separator: " ")
    }

    private static func formatted(_ value: Double, digits: Int = 0) -> String {
        String(format: "%.\(digits)f", value)
    }

    /// The nearest-rank percentile `p` (0...1) of `values`; 0 for none.
    static func percentile(_ p: Double, of values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    private static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "unknown"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
