import ArgumentParser
import MiniCore

extension Mini {
    /// `mini logs <app> [-f] [-n N] [-t]` and `mini logs --build <job> [-f]`.
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an app's logs or a build log; lines are printed as they arrive, also into a pipe.",
            discussion: """
                mini logs APP prints stdout and stderr of all the app's instances, each line prefixed with \
                its instance; with -f it keeps following, across redeploys. mini logs --build JOB prints the \
                kept build log of a job; with -f, until the job ends.
                """
        )

        @Argument(help: "The app whose logs to print.", transform: AppName.argument)
        var app: AppName?

        @Option(help: "Print the build log of this job instead.", transform: JobArgument.parse)
        var build: JobID?

        @Flag(name: .shortAndLong, help: "Keep printing new lines.")
        var follow = false

        @Flag(name: .shortAndLong, help: "Begin each line of an app's logs with the time it was written (UTC).")
        var timestamps = false

        @Option(
            name: [.customShort("n"), .customLong("lines")],
            help: "How many recent lines of each instance to print first, 0 to 10000 (default: 100).")
        var lines: Int?

        @Option(
            help: ArgumentHelp(
                "Print an app's lines written since then: 30s, 10m, 2h, 1d back, or a time such as 2026-12-07T15:00:00Z.",
                discussion: "With --since, -n defaults to 10000 (the most) instead of 100."
            ))
        var since: String?

        @OptionGroup var api: APIOptions

        func validate() throws {
            guard (build == nil) != (app == nil) else {
                throw ValidationError(
                    app == nil
                        ? "give an app (mini logs APP) or a job (mini logs --build JOB)"
                        : "give an app (mini logs APP) or a job (mini logs --build JOB), not both")
            }
            if timestamps, build != nil {
                throw ValidationError("-t applies to an app's logs; a build log's steps are timed in mini status")
            }
            if let since {
                guard build == nil else { throw ValidationError("--since applies to an app's logs") }
                guard LogSince.date(since) != nil else { throw ValidationError(LogSince.rule) }
            }
            if let lines {
                guard build == nil else {
                    throw ValidationError("-n applies to an app's logs; a build log is printed whole")
                }
                guard (0...10_000).contains(lines) else { throw ValidationError("-n takes 0 to 10000 lines") }
            }
        }

        /// Says on stderr why an app's logs are empty when nothing runs to write them.
        private static func explainNoLines(of app: AppName, client: APIClient) async throws {
            let info: AppInfo = try await client.get("/v1/apps/\(app)")
            if info.release == nil {
                Terminal.error("\(app) has no release yet, so nothing runs to write logs: mini deploy it first")
            } else if info.scale == 0 {
                Terminal.error("\(app) is scaled to 0, so nothing runs to write logs: mini scale \(app) 1 starts one")
            }
        }

        func run() async throws {
            if follow { Terminal.endWhenOutputReaderGoes() }
            let follow = follow ? "1" : nil
            if let build {
                let client = try api.client()
                if follow != nil {
                    try await client.followLog(of: build, line: Terminal.output)
                } else {
                    try await client.streamLines("/v1/jobs/\(build)/log", line: Terminal.output)
                }
            } else if let app {
                let client = try api.client()
                var printed = false
                try await client.streamLines(
                    "/v1/apps/\(app)/logs",
                    query: [
                        "follow": follow, "tail": String(lines ?? (since == nil ? 100 : 10_000)),
                        "timestamps": timestamps ? "1" : nil, "since": since,
                    ],
                    whenBroken: "\(app) goes on running: read its logs again with mini logs \(app)"
                ) { line in
                    printed = true
                    Terminal.output(line)
                }
                if !printed, follow == nil { try? await Self.explainNoLines(of: app, client: client) }
            }
        }
    }
}
