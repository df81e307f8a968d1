import ArgumentParser
import Foundation
import MiniCore

extension Mini {
    /// `mini releases <app> [--json]`
    struct Releases: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List an app's releases, newest first.",
            discussion: "The newest 5 keep their image for rollbacks; an older one is marked once its image is removed."
        )

        @Argument(help: "The app.", transform: AppName.argument)
        var app: AppName

        @Flag(help: "Print JSON.")
        var json = false

        @OptionGroup var api: APIOptions

        func run() async throws {
            let list: ReleaseList = try await api.client().get("/v1/apps/\(app)/releases")
            if json { return Terminal.output(try JobDisplay.json(list)) }
            Terminal.output(
                TextTable.render(
                    header: ["RELEASE", "", "CREATED", "BY", "INSTANCES", "DESCRIPTION"],
                    rows: list.releases.map { release in
                        [
                            "v\(release.version)", release.current ? "*" : "", release.createdAt.formatted(.iso8601),
                            release.createdBy ?? "-", "\(release.instances)",
                            release.description
                                + (release.imageKept == false ? " (image removed: no rollback to it)" : ""),
                        ]
                    }
                )
            )
        }
    }

    /// `mini rollback <app> [vN]`
    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release the image and env of an earlier release again, as a new release.",
            discussion: "Without a release, rolls back to the one before the current. Exits 0 once it serves."
        )

        @Argument(help: "The app.", transform: AppName.argument)
        var app: AppName

        @Argument(help: "The release to go back to, such as v3 (default: the previous one).")
        var release: String?

        @OptionGroup var output: ReleaseOutputOptions
        @OptionGroup var api: APIOptions

        func validate() throws {
            _ = try version
        }

        /// The release asked for, as a number; nil for the one before the current.
        private var version: Int? {
            get throws {
                guard let release else { return nil }
                guard let parsed = Int(release.hasPrefix("v") ? String(release.dropFirst()) : release), parsed > 0
                else {
                    throw ValidationError("'\(release)' is not a release; use vN as listed by mini releases \(app)")
                }
                return parsed
            }
        }

        func run() async throws {
            let client = try api.client()
            let accepted: ChangeAccepted = try await client.send(
                .POST, "/v1/apps/\(app)/rollback", json: RollbackRequest(release: try version)
            )
            try await client.finishRelease(accepted, app: app, doing: "rollback", output: output)
        }
    }

    /// `mini scale <app> <N>`
    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run N instances of an app (0 stops it); zero-downtime.",
            discussion: "The proxy balances requests over the instances. Exits 0 once they serve."
        )

        @Argument(help: "The app.", transform: AppName.argument)
        var app: AppName

        @Argument(help: "How many instances, 0 to 20.")
        var instances: Int

        @OptionGroup var output: ReleaseOutputOptions
        @OptionGroup var api: APIOptions

        func validate() throws {
            let allowed = ScaleRequest.allowedInstances
            guard allowed.contains(instances) else {
                throw ValidationError("an app runs \(allowed.lowerBound) to \(allowed.upperBound) instances")
            }
        }

        func run() async throws {
            let client = try api.client()
            let accepted: ChangeAccepted = try await client.send(
                .PUT, "/v1/apps/\(app)/scale", json: ScaleRequest(instances: instances)
            )
            try await client.finishRelease(accepted, app: app, doing: "scale to \(instances)", output: output)
        }
    }

    /// `mini restart <app>`
    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart an app: fresh instances of its current release; zero-downtime.",
            discussion: """
                The new instances start beside the old ones and take the traffic once healthy; the \
                old ones then drain. Exits 0 once the new instances serve.
                """
        )

        @Argument(help: "The app.", transform: AppName.argument)
        var app: AppName

        @OptionGroup var output: ReleaseOutputOptions
        @OptionGroup var api: APIOptions

        func run() async throws {
            let client = try api.client()
            let accepted: ChangeAccepted = try await client.post("/v1/apps/\(app)/restart")
            try await client.finishRelease(accepted, app: app, doing: "restart", output: output)
        }
    }

    /// `mini limits [show|set]`
    struct LimitsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "limits",
            abstract: "Show or set an app's memory and CPU limits.",
            subcommands: [Show.self, Set.self],
            defaultSubcommand: Show.self
        )

        /// `mini limits [show] <app>`
        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an app's limits.")

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @OptionGroup var api: APIOptions

            func run() async throws {
                let info: AppInfo = try await api.client().get("/v1/apps/\(app)")
                Terminal.output(LimitsDisplay.lines(info.limits).joined(separator: "\n"))
            }
        }

        /// `mini limits set <app> [--memory 256m|none] [--cpus 0.5|none]`
        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Set an app's limits (a new release; zero-downtime).",
                discussion: "A limit not named keeps its value; none removes it."
            )

            @Argument(help: "The app.", transform: AppName.argument)
            var app: AppName

            @Option(help: "Memory limit, such as 256m or 1g, or none.", transform: Self.memory)
            var memory: LimitChange<Int64>?

            @Option(help: "CPUs, such as 0.5, or none.", transform: Self.cpus)
            var cpus: LimitChange<Double>?

            @OptionGroup var output: ReleaseOutputOptions
            @OptionGroup var api: APIOptions

            func validate() throws {
                if let problem = LimitsChange(memoryBytes: memory, cpus: cpus).asked.problem {
                    throw ValidationError(problem)
                }
                guard memory != nil || cpus != nil else {
                    throw ValidationError("name a limit: --memory or --cpus (none removes it)")
                }
            }

            func run() async throws {
                let client = try api.client()
                // Only the limits named: the server keeps the others, also when changed meanwhile.
                let change = LimitsChange(memoryBytes: memory, cpus: cpus)
                let accepted: ChangeAccepted = try await client.send(.PUT, "/v1/apps/\(app)/limits", json: change)
                try await client.finishRelease(accepted, app: app, doing: "limits change", output: output)
            }

            private static func memory(_ text: String) throws -> LimitChange<Int64> {
                guard let change = LimitChange(text, parse: ByteSize.parse) else {
                    throw ValidationError("'\(text)' is not a size; use bytes or a number with k, m or g, or none")
                }
                return change
            }

            private static func cpus(_ text: String) throws -> LimitChange<Double> {
                guard let change = LimitChange(text, parse: Double.init) else {
                    throw ValidationError("'\(text)' is not a number of CPUs such as 0.5, or none")
                }
                return change
            }
        }
    }
}

/// A limit as given to `mini limits set`: a new value, or `none` to remove it.
extension LimitChange {
    /// `none`, or what `parse` makes of `text`; nil when it makes nothing.
    init?(_ text: String, parse: (String) -> Value?) {
        if text.lowercased() == "none" {
            self = .remove
        } else if let value = parse(text) {
            self = .set(value)
        } else {
            return nil
        }
    }
}
