import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
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

    /// Asks the engine for the next exit of a container and returns once it has taken the
    /// request: call it before starting the container, so that no exit comes too early to be
    /// seen. ``ContainerExit/status()`` then waits for the exit, as long as that takes.
    public func watchExit(of container: String) async throws -> ContainerExit {
        ContainerExit(
            body: try await openStream(
                .POST, "/containers/\(Self.pathSegment(container))/wait", query: [("condition", "next-exit")]))
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

/// The next exit of a container; see ``DockerClient/watchExit(of:)``.
public struct ContainerExit: Sendable {
    let body: HTTPClientResponse.Body

    /// Waits for the exit and returns the exit status of the container's process.
    public func status() async throws -> Int {
        struct Exit: Decodable {
            var statusCode: Int
            enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" }
        }
        let answer = try await body.collect(upTo: DockerClient.errorBodyLimit)
        do {
            return try JSONDecoder().decode(Exit.self, from: answer).statusCode
        } catch {
            throw DockerError.badResponse("the engine's answer to a wait was not an exit status: \(error)")
        }
    }
}
