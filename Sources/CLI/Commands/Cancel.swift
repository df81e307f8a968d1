import ArgumentParser
import MiniCore

extension Mini {
    /// `mini cancel <job> [--async] [--json]`
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a queued or running job.",
            discussion: """
                A queued job ends at once. A running job stops at its worker's next lease check \
                (within about a second); mini waits until the worker has removed what the job \
                started, unless --async is given. A job that has already switched the routes to \
                its release cannot be cancelled: roll back instead. Exits 0 once the job is cancelled \
                (or, with --async, cancelling), 1 when it ended another way first.
                """
        )

        @Argument(help: "The job id.", transform: JobArgument.parse)
        var job: JobID

        @Flag(
            name: .customLong("async"),
            help: "Return once the cancel is requested, without waiting for the job to end.")
        var returnAtOnce = false

        @Flag(help: "Print the job as JSON.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let client = try api.client()
            var info: JobInfo = try await client.post("/v1/jobs/\(job)/cancel")
            if !info.state.isFinal, !returnAtOnce {
                Terminal.error("cancelling job \(info.id): waiting for its worker to stop...")
                info = try await client.waitForJob(info.id)
            }
            if json {
                Terminal.output(try JobDisplay.json(info))
            } else if info.state.isFinal {
                Terminal.output("job \(info.id) is \(info.state.rawValue)")
            } else {
                Terminal.output(
                    "job \(info.id) is cancelling; `mini cancel \(info.id)` waits for its end (exit 0 once cancelled)")
            }
            // It ended another way while its worker was asked to stop: the cancel did not happen.
            if info.state.isFinal, info.state != .cancelled {
                let undo = info.state == .succeeded ? ": its release serves; mini rollback \(info.app) undoes it" : ""
                throw CLIFailure("job \(info.id) \(info.state.rawValue) before it could be cancelled\(undo)")
            }
        }
    }
}
