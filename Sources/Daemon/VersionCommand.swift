import ArgumentParser
import MiniCore

/// `minid version`, as `mini version` (and `minid --version`).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version of minid.")

    func run() {
        print("minid \(MiniVersion.current)")
    }
}
