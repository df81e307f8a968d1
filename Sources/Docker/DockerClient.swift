import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix

/// A client for the Docker Engine API on the engine's unix socket.
///
/// The API version is negotiated on first use from `GET /_ping` (the lower of the engine's
/// version and 1.41) and cached for the life of the client and its copies.
public struct DockerClient: Sendable {
    /// A process-wide HTTP client suited to the engine socket, never shut down (like
    /// `HTTPClient.shared`). Unlike `HTTPClient.shared` it has no idle-read timeout, because
    /// `logs?follow=1`, `/events` and silent build steps may stay quiet for minutes, and it
    /// opens up to 512 connections instead of 8, because each of those streams holds one for as
    /// long as it runs and other calls must not queue behind them. A failed connect is retried
    /// until the connect timeout (5 s): turning that off would fail every call waiting for a
    /// connection at the first failed connect (out of descriptors, a full listen backlog), not
    /// just the one; a missing socket is told at once instead (``send``).
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: nil)
        )
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnections
        )
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    /// How many connections ``sharedHTTPClient`` opens to the engine at most.
    static let maximumConnections = 512

    /// The path of the engine's unix socket.
    public let socketPath: String
    let httpClient: HTTPClient
    let logger: Logger
    private let negotiator = APIVersionNegotiator()

    /// Creates a client for the engine listening on `socketPath`. Nothing is sent until the
    /// first call.
    public init(
        socketPath: String = "/var/run/docker.sock",
        httpClient: HTTPClient = DockerClient.sharedHTTPClient,
        logger: Logger
    ) {
        self.socketPath = socketPath
        self.httpClient = httpClient
        self.logger = logger
    }

    /// Checks that the engine answers now and returns the API version this client uses with
    /// it, such as `"1.41"`.
    public func ping() async throws -> String {
        let version = min(try await engineVersion(), .supported)
        return version.description
    }

    /// The engine's machine: its CPUs and memory, the most a container's limits can use.
    public struct Machine: Sendable, Decodable {
        /// How many CPUs it has.
        public var cpus: Int
        /// How much memory it has, in bytes.
        public var memoryBytes: Int64
        enum CodingKeys: String, CodingKey {
            case cpus = "NCPU"
            case memoryBytes = "MemTotal"
        }
    }

    /// The CPUs and memory of the engine's machine. Asked with a short deadline (5 s):
    /// callers check user input with it while they wait.
    public func machine() async throws -> Machine {
        try await call(.GET, "/info", as: Machine.self, deadline: .now() + .seconds(5))
    }

    /// The negotiated API version, asking the engine on first use.
    func apiVersion() async throws -> APIVersion {
        try await negotiator.version(askingEngine: { [self] in try await engineVersion() })
    }

    /// The newest API version the engine speaks, from `GET /_ping`.
    private func engineVersion() async throws -> APIVersion {
        let response = try await send(.GET, unversioned: "/_ping", deadline: .now() + .seconds(10))
        _ = try await Self.successBody(of: response)
        guard let header = response.headers.first(name: "API-Version"), let version = APIVersion(header)
        else {
            throw DockerError.badResponse("GET /_ping answered without a valid API-Version header")
        }
        logger.debug("Docker engine answered", metadata: ["api-version": "\(version)"])
        return version
    }
}
