import ArgumentParser
import Foundation
import MiniCore

extension Mini {
    /// `mini apps [list|create|info|destroy]`
    struct Apps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List apps, create one, show one, or destroy one.",
            subcommands: [List.self, Create.self, Info.self, Destroy.self],
            defaultSubcommand: List.self
        )

        /// `mini apps [list] [--json]`
        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the apps.")

            @Flag(help: "Print JSON.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let list: AppList = try await api.client().get("/v1/apps")
                if json { return Terminal.output(try JobDisplay.json(list)) }
                Terminal.output(
                    TextTable.render(
                        header: ["APP", "RELEASE", "INSTANCES", "URL"],
                        rows: list.apps.map { app in
                            [
                                app.name.rawValue, app.release.map { "v\($0)" } ?? "-",
                                "\(app.instances.filter { $0.state == "serving" }.count)/\(app.scale)", app.url,
                            ]
                        }
                    )
                )
            }
        }

        /// `mini apps create <app> [--json]`
        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an app without deploying it.",
                discussion: """
                    A deploy creates its app too; creating it first lets you set its env, scale and \
                    limits before the first deploy, which then starts with them:

                      mini apps create shop
                      mini env set shop DATABASE_URL=postgres://...
                      mini deploy ./shop --app shop
                    """
            )

            @Argument(help: "The app's name: lowercase letters, digits and dashes.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print the new app as JSON.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().send(
                    .POST, "/v1/apps", json: CreateAppRequest(name: app.rawValue))
                if json { return Terminal.output(try JobDisplay.json(info)) }
                Terminal.output("created \(app); mini deploy --app \(app) serves it at \(info.url)")
            }
        }

        /// `mini apps info <app> [--json]`
        struct Info: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show an app: URL, release, instances and their state, limits, health check."
            )

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().get("/v1/apps/\(app)")
                if json { return Terminal.output(try JobDisplay.json(info)) }
                var lines =
                    [
                        "app        \(info.name)",
                        "url        \(info.url)",
                        "release    \(info.release.map { "v\($0)" } ?? "none yet")",
                        "scale      \(info.scale)",
                    ] + LimitsDisplay.lines(info.limits) + [
                        "health     \(info.healthPath.map { "GET \($0)" } ?? HealthCheck.defaultCheck)",
                        "on deploy  \(info.releaseCommand.map { "run " + ShellQuoting.quote($0) } ?? "no release command")",
                    ]
                if info.maintenance == true {
                    lines.append(
                        "maintenance on: requests get the maintenance page (mini maintenance off \(info.name))")
                }
                if !info.instances.isEmpty {
                    lines.append("instances")
                    lines.append(
                        TextTable.render(
                            header: ["NAME", "RELEASE", "STATE", "ADDRESS"],
                            rows: info.instances.map { [$0.name, "v\($0.release)", $0.state, $0.address] }
                        )
                    )
                }
                Terminal.output(lines.joined(separator: "\n"))
            }
        }

        /// `mini apps destroy <app> --confirm <app>`
        struct Destroy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Delete an app: containers, images, routes, env, jobs, logs and uploads.",
                discussion: "Nothing of the app is left. Repeat its name with --confirm to go ahead."
            )

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Option(help: "The app's name again, to confirm.")
            var confirm: String?

            @OptionGroup var api: APIOptions

            func validate() throws {
                guard confirm == app.rawValue else {
                    throw ValidationError("destroying \(app) cannot be undone; repeat its name: --confirm \(app)")
                }
            }

            func run() async throws {
                try await api.client().delete("/v1/apps/\(app)", query: ["confirm": app.rawValue])
                Terminal.output("destroyed \(app)")
            }
        }
    }
}

/// Names given as command-line arguments.
extension ValidatedName {
    /// Validates a command-line argument: a bad name is a usage error that says what is wrong.
    static func argument(_ text: String) throws -> Self {
        do {
            return try Self(text)
        } catch {
            throw ValidationError(error.message)
        }
    }
}

/// How limits look on a terminal.
enum LimitsDisplay {
    static func lines(_ limits: Limits) -> [String] {
        [
            "memory     \(limits.memoryBytes.map { ByteSize.format($0) } ?? "unlimited")",
            "cpus       \(limits.cpus.map { String($0) } ?? "unlimited")",
        ]
    }
}

/// Plain text tables with aligned columns.
enum TextTable {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
