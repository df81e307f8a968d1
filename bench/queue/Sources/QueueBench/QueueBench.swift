import ArgumentParser

/// `bench/queue`: no-op jobs through the real ``Queue/JobQueue`` with several worker
/// processes on one SQLite file. The same executable is the coordinator (`run`, the
/// default) and its workers (`worker`).
@main
struct QueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-bench",
        abstract: "Benchmark the mini job queue: enqueue, claim+complete and wake-up latency.",
        subcommands: [BenchCommand.self, WorkerCommand.self],
        defaultSubcommand: BenchCommand.self
    )
}
