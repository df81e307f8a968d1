import ArgumentParser
import MiniCore

extension Mini {
    /// `mini version`
    struct Version: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the version of mini.")

        @Flag(help: "Print {\"version\": \"...\"}.")
        var json = false

        func run() throws {
            Terminal.output(
                json ? try JobDisplay.json(["version": MiniVersion.current]) : "mini \(MiniVersion.current)"
            )
        }
    }
}
