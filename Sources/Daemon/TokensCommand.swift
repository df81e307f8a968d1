import ArgumentParser
import Foundation
import MiniCore
import Store

/// `minid tokens create|list|revoke`: API tokens, managed on the server against its data
/// folder (the API has no call for them: whoever holds a token must not mint more).
struct TokensCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list or revoke API tokens (such as one for CI).",
        discussion: """
            Tokens are stored hashed in the data folder's database; a change applies to the \
            running API at once. Give each user or CI system its own, so that one can be revoked \
            without the others.
            """,
        subcommands: [Create.self, List.self, Revoke.self],
        defaultSubcommand: List.self
    )

    /// `minid tokens create <name> [--app PATTERN]... [--expires WHEN]`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (the only time it is shown).",
            discussion: """
                Only the token goes to stdout, for TOKEN=$(minid tokens create ci). A token made \
                with --app acts only on the apps it names: it deploys, configures, reads and \
                destroys them (creating them on a first deploy), sees only their jobs in lists, and \
                gets 403 from other apps and from GET /metrics. For CI's preview deploys:
                  minid tokens create ci-previews --app 'pr-*' --expires 90d
                """
        )

        @Argument(help: "The token's name: 1 to 64 of a-z, 0-9, '-', '_' and '.'.")
        var name: String

        @Option(
            name: .customLong("app"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp(
                "Limit the token to apps matching this pattern ('*' is any run of characters); repeatable.",
                valueName: "pattern"))
        var apps: [String] = []

        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "When the token stops working: a duration from now (12h, 30d) or an RFC 3339 time.",
                valueName: "when"))
        var expires: String?

        @OptionGroup var data: DataOptions

        func validate() throws {
            guard TokenStore.isValidName(name) else { throw ValidationError(TokenStore.nameRule) }
            _ = try access()
            _ = try expiry()
        }

        func run() async throws {
            let (access, expiresAt) = (try access(), try expiry())
            let token = try await TokensCommand.store(data).create(name: name, access: access, expiresAt: expiresAt)
            print(token)
            var scope = access == .every ? "" : " for \(access)"
            if let expiresAt { scope += ", until \(expiresAt.formatted(.iso8601))" }
            FileHandle.standardError.write(
                Data(
                    "created token \(name)\(scope); it is shown only now: use it as MINI_TOKEN or with mini config set-token\n"
                        .utf8))
        }

        private func access() throws -> AppAccess {
            guard !apps.isEmpty else { return .every }
            do throws(NameError) {
                var patterns: [AppPattern] = []
                for text in apps where !patterns.contains(where: { $0.rawValue == text }) {
                    patterns.append(try AppPattern(text))
                }
                return .matching(patterns)
            } catch {
                throw ValidationError(error.message)
            }
        }

        private func expiry() throws -> Date? {
            guard let expires else { return nil }
            guard let date = RelativeTime.date(expires, direction: .ahead) else {
                throw ValidationError(
                    "--expires takes a duration from now with its unit (12h, 30d) or an RFC 3339 time with its zone "
                        + "(2027-03-01T00:00:00Z), not '\(expires)'")
            }
            guard date > Date() else { throw ValidationError("--expires \(expires) has passed; give a time ahead") }
            return date
        }
    }

    /// `minid tokens list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens' names (never their values).")

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var data: DataOptions

        func run() async throws {
            let tokens = try await TokensCommand.store(data).list()
            if json {
                print(String(decoding: try JSONEncoder.mini.encode(tokens), as: UTF8.self))
                return
            }
            let formatter = ISO8601DateFormatter()
            let now = Date()
            func column(_ text: String, _ width: Int = 24) -> String {
                text.padding(toLength: max(width, text.count + 2), withPad: " ", startingAt: 0)
            }
            print(column("NAME") + column("CREATED") + column("EXPIRES", 32) + "APPS")
            for token in tokens {
                let expiry = token.expiresAt.map { formatter.string(from: $0) + ($0 <= now ? " (expired)" : "") }
                print(
                    column(token.name) + column(formatter.string(from: token.createdAt)) + column(expiry ?? "never", 32)
                        + (token.apps.map { $0.map(\.rawValue).joined(separator: " ") } ?? "all"))
            }
        }
    }

    /// `minid tokens revoke <name>`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: requests with it get 401 from now on.")

        @Argument(help: "The token's name.")
        var name: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            try await TokensCommand.store(data).revoke(name: name)
            print("revoked token \(name)")
        }
    }

    /// The token store of the data folder, which must exist (a token for a server that never
    /// ran would be lost in a new folder).
    static func store(_ data: DataOptions) throws -> TokenStore {
        let directory = data.dataDirectory
        switch try directory.databaseFile() {
        case .holdingData: break
        case .empty:
            throw DataDirectory.Failure("the database in \(directory.root) is empty; pass the server's --data-dir")
        case .missing:
            throw DataDirectory.Failure("no mini database in \(directory.root); pass the server's --data-dir")
        }
        return TokenStore(database: try directory.openDatabase())
    }
}
