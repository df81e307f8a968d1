import ArgumentParser
import Foundation
import MiniCore

extension Mini {
    /// `mini whoami`
    struct Whoami: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the name of the token mini uses, the apps it may act on and when it expires.",
            discussion: """
                As heroku auth:whoami: a check, for CI too, that the token is valid and made for the apps \
                at hand. Tokens are made on the server: minid tokens create NAME [--app PATTERN] [--expires WHEN].
                """
        )

        @Flag(help: "Print {\"name\", \"apps\" (null: every app), \"expiresAt\" (null: never)}.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let token: TokenInfo = try await api.client().get("/v1/whoami")
            if json { return Terminal.output(try JobDisplay.json(token)) }
            Terminal.output(token.name)
            Terminal.output("apps:    " + (token.apps.map { $0.map(\.rawValue).joined(separator: " ") } ?? "every app"))
            Terminal.output("expires: " + (token.expiresAt.map { $0.formatted(.iso8601) } ?? "never"))
        }
    }
}
