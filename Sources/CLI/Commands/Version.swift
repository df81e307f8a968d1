import ArgumentParser
import MiniCore

extension Mini {
    /// `mini version`
    struct Version: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the version of mini, and of the server it talks to.",
            discussion: "A server that does not answer is said on stderr; the exit code stays 0."
        )

        @Flag(help: "Print {\"version\": \"...\", \"server\": {\"version\": \"...\"} or null}.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            if !json { Terminal.output("mini \(MiniVersion.current)") }
            var server: VersionInfo?
            do {
                server = try await api.client().get("/v1/version", timeout: .seconds(3))
            } catch {
                Terminal.error("minid: no version from the server: \(error)")
            }
            if json {
                return Terminal.output(try JobDisplay.json(Versions(version: MiniVersion.current, server: server)))
            }
            if let server { Terminal.output("minid \(server.version)") }
        }

        private struct Versions: Encodable {
            let version: String
            let server: VersionInfo?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(version, forKey: .version)
                try container.encode(server, forKey: .server)  // null when it did not answer
            }

            private enum CodingKeys: String, CodingKey { case version, server }
        }
    }
}
