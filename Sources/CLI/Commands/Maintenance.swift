import ArgumentParser
import MiniCore

extension Mini {
    /// `mini maintenance [status|on|off] <app>`
    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show, turn on or turn off an app's maintenance mode.",
            discussion: """
                While it is on, every request for the app (its custom domains too) gets a maintenance \
                page, 503 with Retry-After, and the app's instances run on: deploy, run migrations with \
                mini run, then turn it off. It takes effect within a second, without a release.
                """,
            subcommands: [Status.self, On.self, Off.self],
            defaultSubcommand: Status.self
        )

        /// The app and the output every maintenance subcommand takes.
        struct Target: ParsableArguments {
            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON: {\"enabled\": true|false}.")
            var json = false

            @OptionGroup var api: APIOptions

            /// Turns maintenance mode on or off and says how it is now.
            func change(to enabled: Bool) async throws {
                let answer: MaintenanceMode = try await api.client().send(
                    .PUT, "/v1/apps/\(app)/maintenance", json: MaintenanceMode(enabled: enabled))
                try show(answer)
            }

            func show(_ mode: MaintenanceMode) throws {
                if json { return Terminal.output(try JobDisplay.json(mode)) }
                Terminal.output(
                    mode.enabled
                        ? "maintenance mode is on: \(app)'s requests get the maintenance page (mini maintenance off \(app))"
                        : "maintenance mode is off: \(app) serves its requests")
            }
        }

        /// `mini maintenance [status] <app>`
        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show whether maintenance mode is on.")

            @OptionGroup var target: Target

            func run() async throws {
                let info: AppInfo = try await target.api.client().get("/v1/apps/\(target.app)")
                guard let enabled = info.maintenance else {
                    throw CLIFailure("the server has no maintenance mode: update minid")
                }
                try target.show(MaintenanceMode(enabled: enabled))
            }
        }

        /// `mini maintenance on <app>`
        struct On: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Answer the app's requests with the maintenance page.")

            @OptionGroup var target: Target

            func run() async throws { try await target.change(to: true) }
        }

        /// `mini maintenance off <app>`
        struct Off: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Serve the app's requests again.")

            @OptionGroup var target: Target

            func run() async throws { try await target.change(to: false) }
        }
    }
}
