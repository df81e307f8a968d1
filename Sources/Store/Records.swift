import Foundation
import GRDB

/// A row of `apps`.
public struct AppRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "apps"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var name: String
    public var createdAt: Double
    /// The release that serves; nil before the first successful deploy.
    public var currentRelease: Int?
    public var instances: Int
    /// The health check path; nil means `/up`, falling back to `/`.
    public var healthPath: String?
    public var memoryBytes: Int64?
    public var nanoCpus: Int64?
    /// The release command's arguments as a JSON array; nil for none.
    public var releaseCommandJson: String?
    /// Whether the proxy answers the app's requests with its maintenance page.
    public var maintenance: Bool

    /// The limits new instances of the app get.
    public var limits: ResourceLimits { ResourceLimits(memoryBytes: memoryBytes, nanoCpus: nanoCpus) }

    /// The command each deploy runs in its new image before the release takes traffic.
    public var releaseCommand: [String]? {
        releaseCommandJson.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }
}

/// What an instance may use of the machine; nil means no limit.
public struct ResourceLimits: Sendable, Equatable {
    /// The memory limit, in bytes.
    public var memoryBytes: Int64?
    /// The CPU limit, in billionths of a CPU.
    public var nanoCpus: Int64?

    public init(memoryBytes: Int64? = nil, nanoCpus: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.nanoCpus = nanoCpus
    }
}

/// A row of `releases`: an image plus the configuration it runs with.
public struct ReleaseRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "releases"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var app: String
    public var version: Int
    /// The image id (`sha256:...`).
    public var image: String
    /// The port the app listens on inside its container.
    public var containerPort: Int
    /// The environment, as a JSON object.
    public var envJson: String
    public var instances: Int
    public var jobId: Int64?
    public var description: String
    public var createdAt: Double
    /// The memory limit the release runs with, in bytes; nil for none.
    public var memoryBytes: Int64?
    /// The CPU limit the release runs with, in billionths of a CPU; nil for none.
    public var nanoCpus: Int64?
    /// The name of the API token whose request made it (a deploy, a settings change, a
    /// rollback); nil for one made by mini itself or before mini recorded it.
    public var createdBy: String?

    /// The limits the release's instances run with.
    public var limits: ResourceLimits { ResourceLimits(memoryBytes: memoryBytes, nanoCpus: nanoCpus) }

    /// The environment snapshot of this release.
    public var environment: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(envJson.utf8))) ?? [:]
    }
}

/// What an instance is doing, as stored in `instances.state`.
public enum InstanceState: String, Codable, Sendable {
    /// Created, not yet healthy: gets no traffic.
    case starting
    /// Healthy and routed.
    case serving
    /// Replaced by a newer release: gets no new requests, finishing the ones it has.
    case draining
    /// Keeps dying; recreated again only after a backoff.
    case crashed
}

/// A row of `instances`: one container of a release, published on `host:port`.
public struct InstanceRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "instances"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    /// The container's name, `mini-<app>-v<release>-<n>`.
    public var name: String
    public var app: String
    public var release: Int
    public var containerId: String?
    public var host: String
    public var port: Int
    public var state: InstanceState
    public var createdAt: Double
    /// When the instance left the routes to finish its requests in flight (state `draining`).
    public var drainingSince: Double?

    public init(
        name: String, app: String, release: Int, containerId: String?, host: String = "127.0.0.1",
        port: Int, state: InstanceState, createdAt: Double = Date().timeIntervalSince1970
    ) {
        self.name = name
        self.app = app
        self.release = release
        self.containerId = containerId
        self.host = host
        self.port = port
        self.state = state
        self.createdAt = createdAt
    }
}
