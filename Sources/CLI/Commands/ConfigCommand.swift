import ArgumentParser
import Foundation

extension Mini {
    /// `mini config ...`
    struct ConfigCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Show or change the saved server address and token.",
            discussion: "Settings are saved in \(ConfigFile.path) (mode 0600).",
            subcommands: [SetHost.self, SetToken.self, Show.self]
        )

        struct SetHost: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Save the mini server's URL.")

            @Argument(help: "The URL, such as http://203.0.113.7:7070.")
            var url: String

            func validate() throws {
                guard let components = URLComponents(string: url),
                    ["http", "https"].contains(components.scheme),
                    components.host?.isEmpty == false
                else {
                    throw ValidationError("'\(url)' is not an http(s) URL such as http://127.0.0.1:7070")
                }
            }

            func run() throws {
                var file = try ConfigFile.load()
                file.host = url
                try file.save()
                Terminal.output("host set to \(url)")
            }
        }

        struct SetToken: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Save the API token.")

            @Argument(help: "The token minid printed or created for you.")
            var token: String

            func validate() throws {
                guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
                    throw ValidationError("a token is one word without spaces")
                }
            }

            func run() throws {
                var file = try ConfigFile.load()
                file.token = token
                try file.save()
                Terminal.output("token saved in \(ConfigFile.path)")
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show the host and token in effect (the token masked), and where they come from."
            )

            @OptionGroup var api: APIOptions

            func run() throws {
                let file = try ConfigFile.load()
                let environment = ProcessInfo.processInfo.environment
                let endpoint = Endpoint.resolve(options: api, environment: environment, file: file)
                func source(_ option: String, _ given: String?, _ variable: String, _ saved: String?) -> String {
                    if given != nil { return option }
                    if environment[variable]?.isEmpty == false { return variable }
                    return saved == nil ? "default" : ConfigFile.path
                }
                Terminal.output("host   \(endpoint.host)  (\(source("--host", api.host, "MINI_HOST", file.host)))")
                if let token = endpoint.token {
                    Terminal.output(
                        "token  \(Self.masked(token))  (\(source("--token", api.token, "MINI_TOKEN", file.token)))")
                } else {
                    Terminal.output("token  not set  (mini config set-token TOKEN)")
                }
            }

            /// All but the last 4 characters hidden (all of them for a short token), as at most
            /// 12 stars.
            static func masked(_ token: String) -> String {
                let shown = token.count > 8 ? String(token.suffix(4)) : ""
                return String(repeating: "*", count: min(max(token.count - shown.count, 4), 12)) + shown
            }
        }
    }
}
