import ArgumentParser
import MiniCore

extension Mini {
    /// `mini domains [list|add|remove]`
    struct Domains: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, add or remove an app's custom domains.",
            discussion:
                "The proxy serves the app at each of its domains besides <app>.<domain>, as soon as the change is "
                + "made. Point the domain's DNS at this machine (or at the load balancer in front of it). "
                + "For an app named add, remove or list, say `mini domains list <app>`.",
            subcommands: [List.self, Add.self, Remove.self],
            defaultSubcommand: List.self
        )

        /// `mini domains [list] <app> [--json]`
        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List an app's custom domains.")

            @Argument(help: "The app.")
            var app: String

            @Flag(help: "Print JSON.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let name = try AppArgument.validated(app)
                let list: DomainList = try await api.client().get("/v1/apps/\(name)/domains")
                if json { return Terminal.output(try JobDisplay.json(list)) }
                guard !list.domains.isEmpty else {
                    return Terminal.error(
                        "\(name) has no custom domains; add one with `mini domains add \(name) <host>`")
                }
                Terminal.output(list.domains.map(\.rawValue).joined(separator: "\n"))
            }
        }

        /// `mini domains add <app> <domain>`
        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Serve the app at a custom domain too.")

            @Argument(help: "The app.")
            var app: String

            @Argument(help: "The domain, such as www.example.com.")
            var domain: String

            @OptionGroup var api: APIOptions

            func run() async throws {
                let name = try AppArgument.validated(app)
                let domain = try Domains.validated(self.domain)
                let _: DomainList = try await api.client().send(
                    .POST, "/v1/apps/\(name)/domains", json: DomainRequest(host: domain.rawValue)
                )
                Terminal.output("\(name) is served at http://\(domain) too")
            }
        }

        /// `mini domains remove <app> <domain>`
        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop serving the app at a custom domain.")

            @Argument(help: "The app.")
            var app: String

            @Argument(help: "The domain.")
            var domain: String

            @OptionGroup var api: APIOptions

            func run() async throws {
                let name = try AppArgument.validated(app)
                let domain = try Domains.validated(self.domain)
                try await api.client().delete("/v1/apps/\(name)/domains/\(domain)")
                Terminal.output("\(name) is no longer served at \(domain)")
            }
        }

        static func validated(_ text: String) throws -> DomainName {
            do {
                return try DomainName(text)
            } catch {
                throw ValidationError(error.message)
            }
        }
    }
}
