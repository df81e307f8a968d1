import ArgumentParser
import MiniCore

extension Mini {
    /// `mini jobs [--app A] [--state S] [--json]`
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

        @Option(
            help: "Only this app's jobs.",
            transform: { text in
                do { return try AppName(text) } catch { throw ValidationError("\(error)") }
            })
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

        @Flag(help: "Print the list as JSON.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let list: JobList = try await api.client().get(
                "/v1/jobs", query: ["app": app?.rawValue, "state": state?.rawValue]
            )
            if json {
                Terminal.output(try JobDisplay.json(list))
            } else {
                Terminal.output(list.jobs.isEmpty ? "no jobs" : JobDisplay.table(list.jobs))
            }
        }
    }
}
