import Foundation

/// One release of an app: an image plus the configuration it runs with.
public struct ReleaseInfo: Codable, Sendable, Equatable {
    public var app: AppName
    /// `N` of `vN`, monotonic per app.
    public var version: Int
    public var image: String
    public var job: JobID?
    /// What made it: `deploy of job 7`, `env set FOO`, `rollback to v3`...
    public var description: String
    public var instances: Int
    /// The names of its environment variables (values stay on the server).
    public var envKeys: [String]
    /// Whether this release serves now.
    public var current: Bool
    public var createdAt: Date
    /// Whether the engine still has its image, which a rollback to it needs (mini keeps an
    /// app's newest ``keptImages`` images); nil when the engine could not be asked.
    public var imageKept: Bool?
    /// The name of the API token whose request made it; nil for one mini made itself, or
    /// from before mini recorded it.
    public var createdBy: String?

    /// How many of an app's newest images are kept, with every release that runs one, for
    /// rollbacks.
    public static let keptImages = 5

    public init(
        app: AppName, version: Int, image: String, job: JobID?, description: String, instances: Int,
        envKeys: [String], current: Bool, createdAt: Date, imageKept: Bool? = nil, createdBy: String? = nil
    ) {
        self.app = app
        self.version = version
        self.image = image
        self.job = job
        self.description = description
        self.instances = instances
        self.envKeys = envKeys
        self.current = current
        self.createdAt = createdAt
        self.imageKept = imageKept
        self.createdBy = createdBy
    }
}

/// `GET /v1/apps/{app}/releases` answer, newest first.
public struct ReleaseList: Codable, Sendable, Equatable {
    public var releases: [ReleaseInfo]
    public init(releases: [ReleaseInfo]) { self.releases = releases }
}

/// One running (or starting, or failing) container of an app.
public struct InstanceInfo: Codable, Sendable, Equatable {
    public var name: String
    public var release: Int
    /// `starting`, `serving`, `draining`, `crashed`...
    public var state: String
    /// Where the proxy reaches it: `127.0.0.1:<port>`.
    public var address: String

    public init(name: String, release: Int, state: String, address: String) {
        self.name = name
        self.release = release
        self.state = state
        self.address = address
    }
}

/// An app as the API shows it.
public struct AppInfo: Codable, Sendable, Equatable {
    public var name: AppName
    public var url: String
    /// The release that serves, if any.
    public var release: Int?
    /// The number of instances asked for.
    public var scale: Int
    public var instances: [InstanceInfo]
    public var limits: Limits
    /// The path a new instance must answer before it gets traffic; nil for the default
    /// (see ``HealthCheck``).
    public var healthPath: String?
    /// The command each deploy runs before its release takes traffic (see ``ReleaseCommand``).
    public var releaseCommand: [String]?
    /// Whether the proxy answers with the maintenance page (see ``MaintenanceMode``); nil
    /// from a server that has no maintenance mode.
    public var maintenance: Bool?
    public var createdAt: Date

    public init(
        name: AppName, url: String, release: Int?, scale: Int, instances: [InstanceInfo], limits: Limits,
        healthPath: String? = nil, releaseCommand: [String]? = nil, maintenance: Bool? = nil, createdAt: Date
    ) {
        self.name = name
        self.url = url
        self.release = release
        self.scale = scale
        self.instances = instances
        self.limits = limits
        self.healthPath = healthPath
        self.releaseCommand = releaseCommand
        self.maintenance = maintenance
        self.createdAt = createdAt
    }
}

/// `PUT /v1/apps/{app}/maintenance` body and answer: while enabled, the proxy answers the
/// app's requests (through its custom domains too) with a maintenance page, 503 with
/// `Retry-After`, and its instances run on: deploys, release commands and `mini run` work as
/// usual (Heroku's and Dokku's maintenance mode).
public struct MaintenanceMode: Codable, Sendable, Equatable {
    public var enabled: Bool

    public init(enabled: Bool) { self.enabled = enabled }
}

/// `PUT /v1/apps/{app}/release-command` body and answer: a command each deploy runs in its
/// new image, with the new release's environment, after the build and before any instance
/// starts (database migrations, as Heroku's release phase). A failure (an exit status other
/// than 0) fails the deploy, and the release before it serves on.
public struct ReleaseCommand: Codable, Sendable, Equatable {
    /// The command and its arguments, not run through a shell; nil for none.
    public var command: [String]?

    public init(command: [String]?) { self.command = command }

    /// Requires `command`, null for none: a body without it is a mistake, not a removal.
    public init(from decoder: any Decoder) throws {
        command = try decoder.container(keyedBy: CodingKeys.self).decode([String]?.self, forKey: .command)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(command, forKey: .command)
    }

    private enum CodingKeys: String, CodingKey { case command }
}

/// `PUT /v1/apps/{app}/health` body and answer: the path a new instance of the app must
/// answer over HTTP (any 2xx or 3xx) before it gets traffic, from the next release on.
public struct HealthCheck: Codable, Sendable, Equatable {
    /// The most bytes of a path.
    public static let maxPathBytes = 1024
    /// What happens without a path of the app's own.
    public static let defaultCheck = "GET /up, or / when /up answers 404"

    /// The path with its query, if any; nil for the default (``defaultCheck``).
    public var path: String?

    public init(path: String?) { self.path = path }

    /// Requires `path`, null for the default: a body without it (a misspelt key) is a
    /// mistake, not a reset.
    public init(from decoder: any Decoder) throws {
        path = try decoder.container(keyedBy: CodingKeys.self).decode(String?.self, forKey: .path)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
    }

    private enum CodingKeys: String, CodingKey { case path }

    /// What is wrong with `path` as a health check path, or nil when it is a valid one.
    public static func problem(with path: String) -> String? {
        guard path.hasPrefix("/") else { return "a health check path starts with /, such as /healthz" }
        guard path.utf8.count <= maxPathBytes,
            path.utf8.allSatisfy({ (UInt8(ascii: "!")...UInt8(ascii: "~")).contains($0) && $0 != UInt8(ascii: "#") })
        else {
            return "a health check path is at most \(maxPathBytes) printable ASCII characters, without spaces or #"
        }
        return nil
    }
}

/// Resource limits of an app's containers; nil means none.
public struct Limits: Codable, Sendable, Equatable {
    public var memoryBytes: Int64?
    /// CPUs, such as 0.5.
    public var cpus: Double?

    public init(memoryBytes: Int64? = nil, cpus: Double? = nil) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
    }

    /// The limits of an app as the store keeps them, CPUs in billionths.
    public init(memoryBytes: Int64?, nanoCPUs: Int64?) {
        self.init(memoryBytes: memoryBytes, cpus: nanoCPUs.map { Double($0) / 1e9 })
    }

    /// CPUs as the engine and the store count them (`NanoCpus`): billionths of a CPU.
    public static func nanoCPUs(_ cpus: Double) -> Int64 { Int64((cpus * 1e9).rounded()) }

    /// The engine's smallest memory limit: 6 MiB.
    public static let minimumMemoryBytes: Int64 = 6 << 20
    /// The CPUs a limit may give (``problem`` says so in words).
    public static let allowedCPUs: ClosedRange<Double> = 0.01...64

    /// What is wrong with the limits, or nil when the engine takes them.
    public var problem: String? {
        if let memoryBytes, memoryBytes < Self.minimumMemoryBytes {
            return "the memory limit must be at least 6m (the engine's minimum)"
        }
        if let cpus, !Self.allowedCPUs.contains(cpus) {
            return "cpus must be between 0.01 and 64"
        }
        return nil
    }
}

/// A change of one limit: a new value, or its removal.
public enum LimitChange<Value: Codable & Sendable & Equatable>: Sendable, Equatable {
    case set(Value)
    case remove

    /// The limit after the change: the value set; nil for a removal.
    public var newValue: Value? {
        if case .set(let value) = self { value } else { nil }
    }

    /// The same change with the value transformed.
    public func map<Other>(_ transform: (Value) -> Other) -> LimitChange<Other> {
        switch self {
        case .set(let value): .set(transform(value))
        case .remove: .remove
        }
    }
}

/// `PUT /v1/apps/{app}/limits` body: the limits to change. A limit not in the body keeps its
/// value (so two changes made at once, one of each, both hold), null removes it; a key that
/// names no limit (a misspelt one, `memory` for `memoryBytes`) is refused.
public struct LimitsChange: Codable, Sendable, Equatable {
    public var memoryBytes: LimitChange<Int64>?
    public var cpus: LimitChange<Double>?

    public init(memoryBytes: LimitChange<Int64>? = nil, cpus: LimitChange<Double>? = nil) {
        self.memoryBytes = memoryBytes
        self.cpus = cpus
    }

    /// The limits the change asks for, nil for those it removes or keeps.
    public var asked: Limits { Limits(memoryBytes: memoryBytes?.newValue, cpus: cpus?.newValue) }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(
            [FieldName.memoryBytes, .cpus], problem: "not a limit: give memoryBytes or cpus, null removes one")
        let container = try decoder.container(keyedBy: FieldName.self)
        memoryBytes = try Self.change(of: .memoryBytes, in: container)
        cpus = try Self.change(of: .cpus, in: container)
    }

    private static func change<Value>(of key: FieldName, in container: KeyedDecodingContainer<FieldName>) throws
        -> LimitChange<Value>?
    {
        guard container.contains(key) else { return nil }
        return try container.decodeNil(forKey: key) ? .remove : .set(container.decode(Value.self, forKey: key))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: FieldName.self)
        try Self.encode(memoryBytes, forKey: .memoryBytes, in: &container)
        try Self.encode(cpus, forKey: .cpus, in: &container)
    }

    private static func encode<Value>(
        _ change: LimitChange<Value>?, forKey key: FieldName, in container: inout KeyedEncodingContainer<FieldName>
    ) throws {
        switch change {
        case nil: return
        case .remove: try container.encodeNil(forKey: key)
        case .set(let value): try container.encode(value, forKey: key)
        }
    }

    /// Any key of the body, so that one naming no limit is found.
}

extension FieldName {
    fileprivate static let memoryBytes = FieldName(stringValue: "memoryBytes")
    fileprivate static let cpus = FieldName(stringValue: "cpus")
}

/// `GET|PATCH /v1/apps/{app}/env` answer.
public struct EnvironmentInfo: Codable, Sendable, Equatable {
    public var env: [String: String]
    /// The release job the change queued, if the app has a release to restart and the
    /// change changed something.
    public var job: JobInfo?
    /// After a change: false when every variable already was as asked (no release then).
    public var changed: Bool?
    public init(env: [String: String], job: JobInfo? = nil, changed: Bool? = nil) {
        self.env = env
        self.job = job
        self.changed = changed
    }
}

/// `PATCH /v1/apps/{app}/env` body.
public struct EnvironmentPatch: Codable, Sendable, Equatable {
    public var set: [String: String]
    public var unset: [String]
    public init(set: [String: String] = [:], unset: [String] = []) {
        self.set = set
        self.unset = unset
    }

    /// Either field may be left out: `{"set": {...}}` only sets. Any other key is refused
    /// (`{"FOO": "bar"}` would otherwise read as a change of nothing).
    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownFields(
            [FieldName(stringValue: "set"), FieldName(stringValue: "unset")],
            problem: "not a field: give set (an object of KEY: value) and unset (an array of KEYs)")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        set = try container.decodeIfPresent([String: String].self, forKey: .set) ?? [:]
        unset = try container.decodeIfPresent([String].self, forKey: .unset) ?? []
    }
}

/// `POST /v1/apps` body: create an app before its first deploy, to set its env, scale or
/// limits first.
public struct CreateAppRequest: Codable, Sendable, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// `PUT /v1/apps/{app}/scale` body.
public struct ScaleRequest: Codable, Sendable, Equatable {
    /// How many instances an app may run.
    public static let allowedInstances = 0...20

    public var instances: Int
    public init(instances: Int) { self.instances = instances }
}

/// `POST /v1/apps/{app}/rollback` body; no release means the one before the current.
public struct RollbackRequest: Codable, Sendable, Equatable {
    public var release: Int?
    public init(release: Int? = nil) { self.release = release }
}

/// The answer to a change that queues a release job: scale, limits, rollback.
public struct ChangeAccepted: Codable, Sendable, Equatable {
    /// The job, or nil when the app has no release yet and the change waits for its first
    /// deploy, or when the change changed nothing.
    public var job: JobInfo?
    /// False when the app already runs as asked: no release is made. (Absent from servers
    /// before it; read as true.)
    public var changed: Bool?
    public init(job: JobInfo?, changed: Bool? = nil) {
        self.job = job
        self.changed = changed
    }
}

/// `GET /v1/apps` answer.
public struct AppList: Codable, Sendable, Equatable {
    public var apps: [AppInfo]
    public init(apps: [AppInfo]) { self.apps = apps }
}

/// Where the proxy sends one app's traffic: `127.0.0.1:<port>` for each healthy instance.
public struct Route: Codable, Sendable, Hashable {
    public var app: AppName
    public var host: String
    public var port: Int

    public init(app: AppName, host: String = "127.0.0.1", port: Int) {
        self.app = app
        self.host = host
        self.port = port
    }
}

/// Names of environment variables: a letter or `_`, then letters, digits, `_`, at most 256
/// bytes. `PORT` is set by mini.
public enum EnvironmentKey {
    /// What is wrong with `key` as a variable name, or nil when it is a valid one.
    public static func problem(with key: String) -> String? {
        let bytes = Array(key.utf8)
        let valid =
            !bytes.isEmpty && bytes.count <= 256
            && bytes.enumerated().allSatisfy { index, byte in
                byte == UInt8(ascii: "_") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (index > 0 && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte))
            }
        guard valid else {
            return "'\(key)' is not a valid variable name (letters, digits and _, not starting with a digit)"
        }
        guard key != "PORT" else { return "PORT is set by mini to the port the app listens on" }
        return nil
    }
}
