import ArgumentParser
import MiniCore

extension Mini {
    /// `mini jobs [--app A] [--state S] [--limit N] [--json]`
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

        @Option(help: "Only this app's jobs.", transform: AppName.argument)
        var app: AppName?

        @Option(
            help:
                "Only jobs in this state (\(JobState.allCases.map(\.rawValue).joined(separator: ", "))).",
            transform: { text in
                guard let state = JobState(rawValue: text) else {
                    throw ValidationError(
                        "unknown state '\(text)': use one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return state
            }
        )
        var state: JobState?

        @Option(help: "How many jobs to list, 1 to 1000.")
        var limit = 100

        @Flag(help: "Print the list as JSON.")
        var json = false

        @OptionGroup var api: APIOptions

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit takes 1 to 1000 jobs") }
        }

        func run() async throws {
            let list: JobList = try await api.client().get(
                "/v1/jobs", query: ["app": app?.rawValue, "state": state?.rawValue, "limit": String(limit)]
            )
            if json {
                Terminal.output(try JobDisplay.json(list))
            } else {
                Terminal.output(list.jobs.isEmpty ? "no jobs" : JobDisplay.table(list.jobs))
            }
        }
    }
}
