import ArgumentParser
import Foundation
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

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Flag(help: "Print JSON.")
            var json = false

            @OptionGroup var api: APIOptions

            func run() async throws {
                let list: DomainList = try await api.client().get("/v1/apps/\(app)/domains")
                if json { return Terminal.output(try JobDisplay.json(list)) }
                guard !list.domains.isEmpty else {
                    return Terminal.error(
                        "\(app) has no custom domains; add one with `mini domains add \(app) <host>`")
                }
                Terminal.output(list.domains.map(\.rawValue).joined(separator: "\n"))
            }
        }

        /// `mini domains add <app> <domain>`
        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Serve the app at a custom domain too.")

            @OptionGroup var target: AppDomain
            @OptionGroup var api: APIOptions

            func run() async throws {
                let client = try api.client()
                let _: DomainList = try await client.send(
                    .POST, "/v1/apps/\(target.app)/domains", json: DomainRequest(host: target.domain.rawValue)
                )
                // On the proxy's port, as the app's own URL says.
                let info: AppInfo = try await client.get("/v1/apps/\(target.app)")
                var url = URLComponents(string: info.url) ?? URLComponents()
                url.host = target.domain.rawValue
                Terminal.output("\(target.app) is served at \(url.string ?? "http://\(target.domain)") too")
            }
        }

        /// `mini domains remove <app> <domain>`
        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Stop serving the app at a custom domain.")

            @OptionGroup var target: AppDomain
            @OptionGroup var api: APIOptions

            func run() async throws {
                try await api.client().delete("/v1/apps/\(target.app)/domains/\(target.domain)")
                Terminal.output("\(target.app) is no longer served at \(target.domain)")
            }
        }

        /// The `<app> <domain>` pair `add` and `remove` take.
        struct AppDomain: ParsableArguments {
            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Argument(help: "The domain, such as www.example.com.", transform: DomainName.argument)
            var domain: DomainName
        }
    }
}
