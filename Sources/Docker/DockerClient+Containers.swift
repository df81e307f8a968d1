import NIOCore
import NIOHTTP1

extension DockerClient {
    /// Creates (but does not start) a container and returns its id.
    /// - Throws: ``DockerError`` with code ``DockerError/Code/conflict`` when the name is
    ///   taken, ``DockerError/Code/notFound`` when the image is missing.
    public func createContainer(_ spec: ContainerSpec) async throws -> String {
        struct Created: Decodable {
            var id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        let created = try await call(
            .POST,
            "/containers/create",
            query: [("name", spec.name)],
            json: CreateContainerBody(spec: spec),
            as: Created.self
        )
        return created.id
    }

    /// Starts a container; one already running is fine.
    public func startContainer(_ container: String) async throws {
        try await perform(
            .POST, "/containers/\(Self.pathSegment(container))/start", accepting: [.notModified])
    }

    /// Stops a container: SIGTERM, then SIGKILL after `timeout` seconds. One already stopped
    /// is fine.
    public func stopContainer(_ container: String, timeout: Int = 10) async throws {
        try await perform(
            .POST,
            "/containers/\(Self.pathSegment(container))/stop",
            query: [("t", String(timeout))],
            accepting: [.notModified],
            deadline: .now() + .seconds(Int64(timeout)) + Self.callTimeout
        )
    }

    /// Removes a container and its anonymous volumes.
    /// - Parameters:
    ///   - force: Kill it first if it runs.
    ///   - ignoreMissing: Succeed when there is no such container.
    public func removeContainer(_ container: String, force: Bool = false, ignoreMissing: Bool = false)
        async throws
    {
        try await perform(
            .DELETE,
            "/containers/\(Self.pathSegment(container))",
            query: [("force", force ? "1" : "0"), ("v", "1")],
            accepting: ignoreMissing ? [.notFound] : []
        )
    }

    /// Waits until a container is not running (at once if it is not) and returns the exit
    /// status of its process. Waits as long as that takes.
    public func waitForExit(_ container: String) async throws -> Int {
        struct Exit: Decodable {
            var statusCode: Int
            enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" }
        }
        let exit = try await call(
            .POST, "/containers/\(Self.pathSegment(container))/wait", as: Exit.self, deadline: .distantFuture)
        return exit.statusCode
    }

    /// What the engine knows about a container, by id or name.
    /// - Throws: ``DockerError`` with code ``DockerError/Code/notFound`` for an unknown one.
    public func inspectContainer(_ container: String) async throws -> ContainerInfo {
        try await call(.GET, "/containers/\(Self.pathSegment(container))/json")
    }

    /// The containers that carry all `labels`; only running ones unless `all`.
    public func listContainers(labels: [String: String] = [:], all: Bool = false) async throws
        -> [ContainerSummary]
    {
        try await call(
            .GET,
            "/containers/json",
            query: [
                ("all", all ? "1" : "0"), ("filters", try Self.jsonQueryValue(Self.labelFilters(labels))),
            ]
        )
    }
}
