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
                guard components.query == nil, components.fragment == nil, components.user == nil else {
                    throw ValidationError(
                        "'\(url)' has more than a server's URL: give the scheme, host and port, such as http://127.0.0.1:7070"
                    )
                }
            }

            func run() throws {
                var file = try ConfigFile.load()
                file.host = url
                try file.save()
                Terminal.output("host set to \(url)")
                let path = URLComponents(string: url)?.path ?? ""
                if !path.isEmpty, path != "/" {
                    Terminal.error(
                        "note: calls go to \(url.trimmingCharacters(in: ["/"]))/v1/...: keep the path \(path) only if a proxy in "
                            + "front serves mini's API under it")
                }
            }
        }

        struct SetToken: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Save the API token.",
                discussion: """
                    Without TOKEN (or with -), the token is read from standard input, so it stays out of \
                    the process list and the shell history:

                      mini config set-token < data/admin.token
                      mini config set-token              (then paste it; it is not echoed)
                    """
            )

            @Argument(help: "The token minid created for you; read from standard input when left out or -.")
            var token: String?

            func validate() throws {
                if let token, token != "-" { try Self.check(token) }
            }

            func run() throws {
                // An argument was checked by validate(); one read from standard input is checked there.
                let token = try token.flatMap { $0 == "-" ? nil : $0 } ?? Self.readFromStandardInput()
                var file = try ConfigFile.load()
                file.token = token
                try file.save()
                Terminal.output("token saved in \(ConfigFile.path)")
            }

            private static func check(_ token: String) throws {
                guard !token.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("no token was given: pass it, or one line on standard input")
                }
                guard !token.contains(where: \.isWhitespace) else {
                    throw ValidationError("a token is one word without spaces")
                }
            }

            /// The first line of standard input, without echoing it when it is a terminal (the
            /// echo comes back however the read ends, Ctrl-C included).
            private static func readFromStandardInput() throws -> String {
                var saved = termios()
                guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &saved) == 0 else {
                    return try readToken()
                }
                Terminal.error("Paste the token, then press Enter (it is not shown):")
                var silent = saved
                silent.c_lflag &= ~tcflag_t(ECHO)
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
                let restore: @Sendable () -> Void = { [saved] in
                    var saved = saved
                    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
                    Terminal.error("")
                }
                defer { restore() }
                return try InterruptNotice.whileRunning(cleaningUp: restore) { try readToken() }
            }

            private static func readToken() throws -> String {
                guard let line = readLine(strippingNewline: true) else {
                    throw ValidationError("no token on standard input; pass it as mini config set-token < FILE")
                }
                let token = line.trimmingCharacters(in: .whitespaces)
                try check(token)
                return token
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
                Terminal.output("host   \(endpoint.host)  (\(endpoint.hostSource))")
                if let token = endpoint.token, let source = endpoint.tokenSource {
                    Terminal.output("token  \(Self.masked(token))  (\(source))")
                } else {
                    Terminal.output("token  not set  (mini config set-token < FILE, or MINI_TOKEN)")
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
