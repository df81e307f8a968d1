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

            @Flag(help: "Show the values, as a .env file that mini env set --file reads back.")
            var reveal = false

            @Flag(help: "Print JSON (values masked unless --reveal).")
            var json = false

            @OptionGroup var api: APIOptions

            /// Words after the app (`mini env web A=1`, as `heroku config` users type it):
            /// refused with the command that sets variables.
            @Argument(help: .hidden)
            var extra: [String] = []

            func validate() throws {
                // `mini env sett web A=1`: a misspelt subcommand (named after this error), not
                // variables for an app named sett.
                if !extra.isEmpty,
                    ["set", "unset"].contains(where: { CommandSuggestion.editDistance(app.rawValue, $0) <= 1 })
                {
                    throw ValidationError(
                        "mini env \(app) would show the variables of an app named \(app), and takes nothing after it")
                }
                guard extra.isEmpty else {
                    throw ValidationError(
                        "mini env shows variables; to set them: mini env set \(app) "
                            + ShellQuoting.quote(extra.map { $0.contains("=") ? $0 : $0 + "=VALUE" }))
                }
            }

            func run() async throws {
                let info: EnvironmentInfo = try await api.client().get("/v1/apps/\(app)/env")
                let shown = reveal ? info.env : info.env.mapValues { _ in "••••••" }
                if json { return Terminal.output(try JobDisplay.json(EnvironmentInfo(env: shown))) }
                guard !shown.isEmpty else {
                    return Terminal.error("\(app) has no variables; set some with mini env set \(app) KEY=VALUE")
                }
                // Revealed, as a .env file that `mini env set --file` reads back.
                Terminal.output(
                    shown.sorted { $0.key < $1.key }.map { DotEnv.line(key: $0.key, value: $0.value) }
                        .joined(separator: "\n"))
            }
        }

        /// `mini env set <app> K=V [K=V...]`
        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set variables (a new release).",
                discussion: """
                    Each pair is KEY=VALUE: the value is everything after the first =, and may be empty \
                    or hold = and newlines (quote it for the shell). Keys are letters, digits and _, not \
                    starting with a digit; PORT is set by mini.

                      mini env set shop DATABASE_URL='postgres://db/shop?sslmode=disable' DEBUG=

                    --file reads a .env file (KEY=VALUE lines, # comments, export, single or double \
                    quotes as Docker Compose reads them; ${VAR} is not expanded), - for stdin. Pairs \
                    given as arguments win over the file's.

                      mini env set preview-42 --file .env.preview
                    """
            )

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "KEY=VALUE pairs.")
            var pairs: [String] = []

            @Option(help: "A .env file of variables to set (- reads stdin; repeatable, later files win).")
            var file: [String] = []

            @OptionGroup var output: ReleaseOutputOptions
            @OptionGroup var api: APIOptions

            func validate() throws {
                guard !pairs.isEmpty || !file.isEmpty else {
                    throw ValidationError("give KEY=VALUE pairs, or --file with a .env file")
                }
                _ = try Env.values(of: pairs)
            }

            func run() async throws {
                var values: [String: String] = [:]
                for path in file {
                    values.merge(try Env.values(inFile: path)) { _, later in later }
                }
                values.merge(try Env.values(of: pairs)) { _, argument in argument }
                guard !values.isEmpty else {
                    let sources = file.map { $0 == "-" ? "stdin" : $0 }.joined(separator: ", ")
                    throw CLIFailure("\(sources) sets no variable: nothing to change")
                }
                try await Env.patch(app: app, EnvironmentPatch(set: values), output: output, api: api)
            }
        }

        /// `mini env unset <app> K [K...]`
        struct Unset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove variables (a new release).")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "Names of the variables.")
            var keys: [String]

            @OptionGroup var output: ReleaseOutputOptions
            @OptionGroup var api: APIOptions

            func validate() throws {
                for key in keys { try Env.check(key) }
            }

            func run() async throws {
                try await Env.patch(app: app, EnvironmentPatch(unset: keys), output: output, api: api)
            }
        }

        /// `KEY=VALUE` pairs as a dictionary; a usage error for a pair without `=`, a bad key
        /// or a key given twice.
        static func values(of pairs: [String]) throws -> [String: String] {
            var values: [String: String] = [:]
            for pair in pairs {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ValidationError("'\(pair)' is not KEY=VALUE")
                }
                let key = String(pair[..<equals])
                try check(key)
                guard values.updateValue(String(pair[pair.index(after: equals)...]), forKey: key) == nil else {
                    throw ValidationError("\(key) is given twice")
                }
            }
            return values
        }

        /// The variables of a `.env` file (``DotEnv``), `-` for stdin; a failure names the file
        /// and line.
        static func values(inFile path: String) throws -> [String: String] {
            let text: String
            if path == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    throw CLIFailure("cannot read \(path): there is no such file", exitCode: .usage)
                }
                guard !isFolder.boolValue, let data = FileManager.default.contents(atPath: path) else {
                    throw CLIFailure(
                        "cannot read \(path): \(isFolder.boolValue ? "it is a folder" : "permission denied")",
                        exitCode: .usage)
                }
                text = String(decoding: data, as: UTF8.self)
            }
            do {
                // A key given twice is there once, with its last value.
                return Dictionary(uniqueKeysWithValues: try DotEnv.parse(text).map { ($0.key, $0.value) })
            } catch {
                throw CLIFailure("\(path == "-" ? "stdin" : path), \(error)", exitCode: .usage)
            }
        }

        static func check(_ key: String) throws {
            if let problem = EnvironmentKey.problem(with: key) { throw ValidationError(problem) }
        }

        static func patch(
            app: AppName, _ change: EnvironmentPatch, output: ReleaseOutputOptions, api: APIOptions
        ) async throws {
            let client = try api.client()
            let answer: EnvironmentInfo = try await client.send(.PATCH, "/v1/apps/\(app)/env", json: change)
            try await client.finishRelease(
                ChangeAccepted(job: answer.job, changed: answer.changed), app: app, doing: "env change",
                rollbackCarriesIt: false, output: output)
        }
    }
}
