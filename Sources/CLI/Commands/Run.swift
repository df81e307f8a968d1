import ArgumentParser
import Foundation
import MiniCore

extension Mini {
    /// `mini run [-e KEY=VALUE]... <app> <command> [args...]`
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a one-off command in a new container of an app's current release.",
            discussion: """
                As heroku run or dokku run: the command runs with the release's image, environment and \
                limits, in a container of its own that gets no traffic and is removed when the command \
                ends. Its stdout and stderr are printed as they come, byte for byte, and mini exits with the command's \
                exit status. A closed connection or minid stopping stops the command (SIGTERM, then SIGKILL \
                10 s later); it may run for up to 6 hours.

                At a terminal (stdin and stdout both one), the command gets a terminal of its own, of \
                mini's size and resized with it, and what you type goes to it as typed (Ctrl-C and \
                Ctrl-D too): mini run shop bash, mini run shop rails console. Elsewhere it gets no \
                stdin, and Ctrl-C stops it; -i sends stdin to it (mini run -i db psql < dump.sql), \
                and --no-tty keeps a terminal from it.

                The command replaces the image's CMD (its ENTRYPOINT stays) and is not run through a \
                shell: for pipes or $VARIABLES, run one. Options of mini go before the app; everything \
                after the app is the command.

                  mini run shop rake db:migrate
                  mini run -e DEBUG=1 shop ./bin/check --all
                  mini run shop sh -c 'echo $DATABASE_URL | cut -d@ -f2'
                """
        )

        @Option(name: [.customShort("e"), .customLong("env")], help: "KEY=VALUE set for this run only (repeatable).")
        var env: [String] = []

        @Flag(
            name: [.customShort("i"), .customLong("interactive")],
            help: "Send stdin to the command (mini run -i db psql < dump.sql); at a terminal it always is.")
        var interactive = false

        @Flag(name: .customLong("no-tty"), help: "Give the command no terminal, even when mini runs in one.")
        var noTTY = false

        @OptionGroup var api: APIOptions

        @Argument(help: "The app.", transform: AppName.argument)
        var app: AppName

        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
        var command: [String] = []

        func validate() throws {
            _ = try Env.values(of: env)
            guard CommandArguments.nameAProgram(arguments) else {
                throw ValidationError("give the command to run after the app: mini run \(app) COMMAND [ARGS...]")
            }
        }

        private var arguments: [String] { command.droppingOptionsTerminator }

        func run() async throws {
            Terminal.endWhenOutputReaderGoes()
            let terminal = !noTTY && isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
            var request = RunRequest(command: arguments, env: try Env.values(of: env))
            var outcome = Outcome()
            let path = "/v1/apps/\(app)/run"
            let whenBroken =
                "minid stops the command once it sees the connection gone, or, if minid itself went down, when it "
                + "starts again"
            if terminal || interactive {
                request.terminal = terminal ? RawTerminal.size() ?? TerminalSize(rows: 24, columns: 80) : nil
                let input = try RunInputStream(request: request, terminal: terminal)
                var raw: RawTerminal?
                defer {
                    raw?.restore()
                    input.finish()
                }
                try await api.client().streamLines(
                    streaming: input.body, contentType: "application/x-ndjson", to: path + "/input",
                    whenBroken: whenBroken
                ) { line in
                    outcome.read(line, app: app)
                    // Once the command's container is there (until then Ctrl-C ends mini), keys go
                    // to it as typed, Ctrl-C too, until it ends.
                    if terminal, raw == nil, outcome.started { raw = RawTerminal() }
                }
            } else {
                try await InterruptNotice.whileRunning(
                    saying: "mini: interrupted; the command is stopped on the server"
                ) {
                    try await api.client().streamLines(posting: request, to: path, whenBroken: whenBroken) { line in
                        outcome.read(line, app: app)
                    }
                }
            }
            if let error = outcome.error {
                throw CLIFailure(
                    error,
                    exitCode: outcome.serverStopping ? .unreachable : outcome.tokenEnded ? .unauthorized : .failed)
            }
            guard let status = outcome.exitStatus else {
                throw CLIFailure(
                    "the server ended the run without the command's exit status; see minid's log",
                    exitCode: .unreachable)
            }
            if status != 0 { throw ExitCode(Int32(truncatingIfNeeded: status)) }
        }

        /// What the run's answer said, line by line.
        private struct Outcome {
            /// The command's container was made.
            var started = false
            var exitStatus: Int?
            var error: String?
            /// The run ended because minid is stopping.
            var serverStopping = false
            /// The run was stopped because the token was revoked or expired.
            var tokenEnded = false
            private let decoder = JSONDecoder.mini

            /// Writes output where the command wrote it, byte for byte; keeps the end.
            mutating func read(_ line: String, app: AppName) {
                guard let event = try? decoder.decode(RunEvent.self, from: Data(line.utf8)) else { return }
                if let container = event.container {
                    started = true
                    if Terminal.stderrIsTerminal {
                        Terminal.error("Running on \(app) v\(event.release ?? 0) in \(container)...")
                    }
                }
                if let data = event.data {
                    data.withUnsafeBytes { bytes in
                        if event.stream == "stderr" { Terminal.errorBytes(bytes) } else { Terminal.outputBytes(bytes) }
                    }
                }
                if let status = event.exitCode { exitStatus = status }
                if let error = event.error {
                    self.error = error
                    serverStopping = event.serverStopping ?? false
                    tokenEnded = event.tokenEnded ?? false
                }
            }
        }
    }
}
