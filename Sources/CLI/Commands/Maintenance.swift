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

        /// `mini maintenance [status] <app>`
        struct Status: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show whether maintenance mode is on.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON: {\"enabled\": true|false}.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().get("/v1/apps/\(app)")
                guard let enabled = info.maintenance else {
                    throw CLIFailure("the server has no maintenance mode: update minid")
                }
                try Maintenance.show(MaintenanceMode(enabled: enabled), of: app, json: json)
            }
        }

        /// `mini maintenance on <app>`
        struct On: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Answer the app's requests with the maintenance page.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON: {\"enabled\": true}.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws { try await Maintenance.change(app, to: true, json: json, api: api) }
        }

        /// `mini maintenance off <app>`
        struct Off: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Serve the app's requests again.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON: {\"enabled\": false}.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws { try await Maintenance.change(app, to: false, json: json, api: api) }
        }

        static func change(_ app: AppName, to enabled: Bool, json: Bool, api: APIOptions) async throws {
            let answer: MaintenanceMode = try await api.client().send(
                .PUT, "/v1/apps/\(app)/maintenance", json: MaintenanceMode(enabled: enabled))
            try show(answer, of: app, json: json)
        }

        static func show(_ mode: MaintenanceMode, of app: AppName, json: Bool) throws {
            if json { return Terminal.output(try JobDisplay.json(mode)) }
            Terminal.output(
                mode.enabled
                    ? "maintenance mode is on: \(app)'s requests get the maintenance page (mini maintenance off \(app))"
                    : "maintenance mode is off: \(app) serves its requests")
        }
    }
}
