import ArgumentParser
import MiniCore

extension Mini {
    /// `mini cancel <job>`
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a queued or running job.")

        @Argument(help: "The job id.")
        var job: JobID

        @Flag(help: "Print the job as JSON.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let info: JobInfo = try await api.client().post("/v1/jobs/\(job)/cancel")
            Terminal.output(json ? try JobDisplay.json(info) : "job \(info.id) is \(info.state.rawValue)")
        }
    }
}
