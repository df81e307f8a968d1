import ArgumentParser
import MiniCore

extension Mini {
    /// `mini release-command [show|set|unset]`
    struct ReleaseCommandCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release-command",
            abstract: "Show or set the command each deploy runs before its release takes traffic.",
            discussion: """
                As Heroku's release phase: after the build, before any new instance starts, the command \
                runs once in the new image with the new release's environment and limits (database \
                migrations). Its output goes to the build log; an exit status other than 0 fails the \
                deploy, and the release before serves on. Rollbacks and settings changes do not run it. \
                It is not run through a shell.

                  mini release-command set shop rake db:migrate
                """,
            subcommands: [Show.self, Set.self, Unset.self],
            defaultSubcommand: Show.self
        )

        /// `mini release-command [show] <app>`
        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an app's release command.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().get("/v1/apps/\(app)")
                Terminal.output(ReleaseCommandCommand.describe(info.releaseCommand))
            }
        }

        /// `mini release-command set <app> <command> [args...]`
        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set the command (from the next deploy on); everything after the app is the command.")

            @OptionGroup var api: APIOptions

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
            var command: [String] = []

            private var arguments: [String] { command.droppingOptionsTerminator }

            func validate() throws {
                guard CommandArguments.nameAProgram(arguments) else {
                    throw ValidationError(
                        "give the command after the app: mini release-command set \(app) COMMAND [ARGS...]")
                }
            }

            func run() async throws {
                try await ReleaseCommandCommand.change(app, to: arguments, api: api)
            }
        }

        /// `mini release-command unset <app>`
        struct Unset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Run no command before releases.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @OptionGroup var api: APIOptions

            func run() async throws {
                try await ReleaseCommandCommand.change(app, to: nil, api: api)
            }
        }

        static func change(_ app: AppName, to command: [String]?, api: APIOptions) async throws {
            let answer: ReleaseCommand = try await api.client().send(
                .PUT, "/v1/apps/\(app)/release-command", json: ReleaseCommand(command: command))
            Terminal.output("\(describe(answer.command)), from \(app)'s next deploy on")
        }

        static func describe(_ command: [String]?) -> String {
            "release command: " + (command.map(ShellQuoting.quote) ?? "none")
        }
    }
}
