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

    /// `minid tokens create <name>`
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it (the only time it is shown).",
            discussion: "Only the token goes to stdout, for TOKEN=$(minid tokens create ci)."
        )

        @Argument(help: "The token's name: 1 to 64 of a-z, 0-9, '-', '_' and '.'.")
        var name: String

        @OptionGroup var data: DataOptions

        func validate() throws {
            guard TokenStore.isValidName(name) else { throw ValidationError(TokenStore.nameRule) }
        }

        func run() async throws {
            let token = try await TokensCommand.store(data).create(name: name)
            print(token)
            FileHandle.standardError.write(
                Data(
                    "created token \(name); it is shown only now: use it as MINI_TOKEN or with mini config set-token\n"
                        .utf8))
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
            print("NAME".padding(toLength: 24, withPad: " ", startingAt: 0) + "CREATED")
            for token in tokens {
                print(
                    token.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                        + formatter.string(from: token.createdAt))
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
