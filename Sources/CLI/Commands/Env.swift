import ArgumentParser
import Foundation
import MiniCore

extension Mini {
    /// `mini env [show|set|unset]`
    struct Env: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change an app's environment variables.",
            discussion: "A change makes a new release and restarts the app without downtime. PORT is set by mini.",
            subcommands: [Show.self, Set.self, Unset.self],
            defaultSubcommand: Show.self
        )

        /// `mini env [show] <app> [--reveal] [--json]`
        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an app's environment, values masked.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Show the values.")
            var reveal = false

            @Flag(help: "Print JSON (values masked unless --reveal).")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: EnvironmentInfo = try await api.client().get("/v1/apps/\(app)/env")
                let shown = reveal ? info.env : info.env.mapValues { _ in "••••••" }
                if json { return Terminal.output(try JobDisplay.json(EnvironmentInfo(env: shown))) }
                Terminal.output(
                    shown.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n"))
            }
        }

        /// `mini env set <app> K=V [K=V...]`
        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Set variables (a new release).")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "KEY=VALUE pairs.")
            var pairs: [String]

            @OptionGroup var api: APIOptions

            func run() async throws {
                var values: [String: String] = [:]
                for pair in pairs {
                    guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                        throw ValidationError("'\(pair)' is not KEY=VALUE")
                    }
                    values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                }
                try await Env.patch(app: app, EnvironmentPatch(set: values), api: api)
            }
        }

        /// `mini env unset <app> K [K...]`
        struct Unset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove variables (a new release).")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "Names of the variables.")
            var keys: [String]

            @OptionGroup var api: APIOptions

            func run() async throws {
                try await Env.patch(app: app, EnvironmentPatch(unset: keys), api: api)
            }
        }

        static func patch(app: AppName, _ change: EnvironmentPatch, api: APIOptions) async throws {
            let client = try api.client()
            let answer: EnvironmentInfo = try await client.send(.PATCH, "/v1/apps/\(app)/env", json: change)
            try await client.finishRelease(answer.job, changed: answer.changed ?? true, app: app, doing: "env change")
        }
    }
}
