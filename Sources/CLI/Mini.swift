import ArgumentParser
import Foundation
import MiniCore

/// `mini`: deploy folders with a Dockerfile to a mini server and follow their jobs.
@main
struct Mini: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mini",
        abstract: "Deploy a folder with a Dockerfile to your mini server.",
        discussion: """
            The server address and API token come from, in order: --host/--token, the MINI_HOST and \
            MINI_TOKEN environment variables, then the config file written by `mini config` \
            ($XDG_CONFIG_HOME/mini/config.json, by default ~/.config/mini/config.json). The default \
            host is \(Endpoint.defaultHost).

            Exit codes:
              0  success
              1  the job failed or was cancelled, or the server refused the request
              2  usage error (bad arguments or options)
              3  cannot reach the server, it did not answer in time, or the connection to it broke \
            (a job goes on on the server)
              4  authentication failed (missing, wrong or expired token) or the token may not act on this app
              130  Ctrl-C while following a job, which goes on (mini says how to follow or cancel it)
            mini run exits with the command's own exit status once the command has run.
            """,
        version: MiniVersion.current,
        subcommands: [
            Deploy.self, Status.self, Logs.self, Jobs.self, Cancel.self, Apps.self, Releases.self, Rollback.self,
            Run.self, Env.self, Scale.self, Restart.self, LimitsCommand.self, Health.self, ReleaseCommandCommand.self,
            Maintenance.self,
            Domains.self, ConfigCommand.self, Whoami.self, Version.self,
        ]
    )

    /// The first argument that is not valid UTF-8, as Swift shows it (bad bytes as U+FFFD),
    /// or nil: Swift's `CommandLine.arguments` repair such bytes, which would then be saved,
    /// as an env value say, silently changed.
    private static var argumentNotUTF8: String? {
        (1..<Int(CommandLine.argc)).lazy.compactMap { index -> String? in
            guard let raw = CommandLine.unsafeArgv[index] else { return nil }
            let bytes = UnsafeBufferPointer(start: raw, count: strlen(raw)).lazy.map { UInt8(bitPattern: $0) }
            return String(validating: bytes, as: UTF8.self) == nil ? String(cString: raw) : nil
        }.first
    }

    /// Runs the command, mapping failures to the exit codes documented above.
    static func main() async {
        // Ctrl-\ (SIGQUIT) quits mini as it quits other programs, not by the Swift runtime's
        // backtrace, after which mini ran on.
        signal(SIGQUIT, SIG_DFL)
        if let argument = argumentNotUTF8 {
            Terminal.error("Error: the argument '\(argument)' is not valid UTF-8 text; mini takes text arguments")
            exit(withError: ExitCode(CLIFailure.ExitStatus.usage.rawValue))
        }
        // The command being run, once parsed: usage errors it finds name its own usage.
        var running: ParsableCommand.Type?
        do {
            var command = try parseAsRoot()
            running = type(of: command)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            // A status passed on as it is (`mini run`'s command may exit 64, EX_USAGE, which the
            // usage checks below would turn into 2).
            exit(withError: code)
        } catch let error as ValidationError where running != nil {
            let usage = usageString(for: running ?? Mini.self)
            // The command's name: the usage's words before its first argument or option.
            let name = usage.split(separator: " ").prefix { !"<[-".contains($0.first ?? "-") }.joined(separator: " ")
            Terminal.error("Error: \(message(for: error))\nUsage: \(usage)")
            Terminal.error("  See '\(name) --help' for more information.")
            exit(withError: ExitCode(CLIFailure.ExitStatus.usage.rawValue))
        } catch let failure as CLIFailure {
            Terminal.error("error: \(failure.message)")
            exit(withError: ExitCode(failure.exitCode.rawValue))
        } catch {
            if exitCode(for: error) == .validationFailure {
                let suggestion = CommandSuggestion(for: Array(CommandLine.arguments.dropFirst()))
                if let suggestion, suggestion.isTheError {
                    Terminal.error("Error: \(suggestion.message)")
                } else {
                    Terminal.error(fullMessage(for: error))
                    if let suggestion { Terminal.error(suggestion.message) }
                }
                exit(withError: ExitCode(CLIFailure.ExitStatus.usage.rawValue))
            }
            exit(withError: error)
        }
    }
}
