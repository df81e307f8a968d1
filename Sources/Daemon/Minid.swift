import ArgumentParser
import MiniCore

/// `minid`: the mini daemon. `serve` runs everything in one process tree; the other
/// commands run one role each, for systemd units and bigger machines.
@main
struct Minid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "minid",
        abstract: "The mini daemon: API, build workers, reverse proxy.",
        version: MiniVersion.current,
        subcommands: [Serve.self, APICommand.self, ProxyCommand.self, WorkerCommand.self, TokensCommand.self],
        defaultSubcommand: Serve.self
    )
}
