import ArgumentParser
import MiniCore

extension Mini {
    /// `mini health [show|set|reset]`
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set the path a new instance must answer before it gets traffic.",
            discussion: """
                A deploy, restart or settings change starts new instances beside the old ones and moves the \
                traffic only once each answers this path with a 2xx or 3xx status (within minid's \
                --health-timeout); otherwise the release fails and the old one keeps serving. By default: \
                \(HealthCheck.defaultCheck). A change applies from the next release on.
                """,
            subcommands: [Show.self, Set.self, Reset.self],
            defaultSubcommand: Show.self
        )

        /// `mini health [show] <app>`
        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an app's health check.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().get("/v1/apps/\(app)")
                Terminal.output(Health.describe(info.healthPath))
            }
        }

        /// `mini health set <app> <path>`
        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set the path, such as /healthz or /up?full=1 (from the next release on).")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "The path, starting with /.")
            var path: String

            @OptionGroup var api: APIOptions

            func validate() throws {
                if let problem = HealthCheck.problem(with: path) { throw ValidationError(problem) }
            }

            func run() async throws {
                try await Health.change(app, to: path, api: api)
            }
        }

        /// `mini health reset <app>`
        struct Reset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Go back to the default check: \(HealthCheck.defaultCheck).")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @OptionGroup var api: APIOptions

            func run() async throws {
                try await Health.change(app, to: nil, api: api)
            }
        }

        static func change(_ app: AppName, to path: String?, api: APIOptions) async throws {
            let answer: HealthCheck = try await api.client().send(
                .PUT, "/v1/apps/\(app)/health", json: HealthCheck(path: path))
            Terminal.output("\(describe(answer.path)), from \(app)'s next release on")
        }

        static func describe(_ path: String?) -> String {
            "health check: " + (path.map { "GET \($0)" } ?? HealthCheck.defaultCheck)
        }
    }
}
