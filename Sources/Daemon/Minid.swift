import ArgumentParser
import MiniCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `minid`: the mini daemon. `serve` runs everything in one process tree; the other
/// commands run one role each, for systemd units and bigger machines.
@main
struct Minid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minid",
        abstract: "The mini daemon: API, build workers, reverse proxy.",
        version: MiniVersion.current,
        subcommands: [
            Serve.self, APICommand.self, ProxyCommand.self, WorkerCommand.self, TokensCommand.self, BackupCommand.self,
            RestoreCommand.self, VersionCommand.self,
        ],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        raiseOpenFileLimit()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Raises the soft limit on open files to the hard one, as Go programs (dockerd) do: the
    /// soft default of 1,024 is reached by ~500 proxied connections (two sockets each), and
    /// then the next accept, or a connection to the Docker engine, fails.
    private static func raiseOpenFileLimit() {
        #if os(Linux)
            let openFiles = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let openFiles = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(openFiles, &limit)
    }
}
