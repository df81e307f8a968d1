import Foundation
import MiniCore

/// The life-cycle state of a container, as the engine names it.
public enum ContainerState: String, Sendable, Hashable, Codable {
    case created
    case running
    case paused
    case restarting
    case removing
    case exited
    case dead
}

/// What the engine knows about one container (`GET /containers/{id}/json`).
public struct ContainerInfo: Sendable, Hashable {
    /// The full container id.
    public var id: String
    /// The name, without the engine's leading `/`.
    public var name: String
    /// The id of the image it runs, `sha256:...`.
    public var imageID: String
    public var state: ContainerState
    /// The exit code of the last run; 0 while it never ended.
    public var exitCode: Int
    /// When the current or last run started; nil if it never started.
    public var startedAt: Date?
    /// When the last run ended; nil if it never ended.
    public var finishedAt: Date?
    /// How many times the engine restarted it under its restart policy.
    public var restartCount: Int
    /// Without mini's labels left unset (see ``ContainerLabel/withoutUnset(_:)``).
    public var labels: [String: String]
    /// The `127.0.0.1` port the first published container port is bound to.
    public var hostPort: Int?
}

extension ContainerInfo: Decodable {
    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case name = "Name"
        case imageID = "Image"
        case state = "State"
        case restartCount = "RestartCount"
        case config = "Config"
        case networkSettings = "NetworkSettings"
        case hostConfig = "HostConfig"
    }

    private struct State: Decodable {
        var status: ContainerState
        var exitCode: Int
        var startedAt: String
        var finishedAt: String

        enum CodingKeys: String, CodingKey {
            case status = "Status"
            case exitCode = "ExitCode"
            case startedAt = "StartedAt"
            case finishedAt = "FinishedAt"
        }
    }

    private struct Config: Decodable {
        var labels: [String: String]?

        enum CodingKeys: String, CodingKey { case labels = "Labels" }
    }

    /// Container port (`8080/tcp`) → its host bindings; null for an exposed port not published.
    private typealias PortMap = [String: [Binding]?]

    private struct Binding: Decodable {
        var hostPort: String?

        enum CodingKeys: String, CodingKey { case hostPort = "HostPort" }
    }

    private struct NetworkSettings: Decodable {
        var ports: PortMap?

        enum CodingKeys: String, CodingKey { case ports = "Ports" }
    }

    private struct HostConfig: Decodable {
        var portBindings: PortMap?

        enum CodingKeys: String, CodingKey { case portBindings = "PortBindings" }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let state = try container.decode(State.self, forKey: .state)
        let live = try container.decodeIfPresent(NetworkSettings.self, forKey: .networkSettings)?.ports
        let configured = try container.decodeIfPresent(HostConfig.self, forKey: .hostConfig)?.portBindings
        self.id = try container.decode(String.self, forKey: .id)
        self.name = Self.withoutLeadingSlash(try container.decode(String.self, forKey: .name))
        self.imageID = try container.decode(String.self, forKey: .imageID)
        self.state = state.status
        self.exitCode = state.exitCode
        self.startedAt = EngineTimestamp.parse(state.startedAt)
        self.finishedAt = EngineTimestamp.parse(state.finishedAt)
        self.restartCount = try container.decodeIfPresent(Int.self, forKey: .restartCount) ?? 0
        self.labels = ContainerLabel.withoutUnset(
            try container.decodeIfPresent(Config.self, forKey: .config)?.labels ?? [:])
        self.hostPort = Self.firstHostPort(live) ?? Self.firstHostPort(configured)
    }

    /// A container name as the rest of the world writes it: the engine's is `/name`.
    static func withoutLeadingSlash(_ name: String) -> String {
        name.hasPrefix("/") ? String(name.dropFirst()) : name
    }

    /// The host port bound to the lowest container port that has a binding in `ports`.
    private static func firstHostPort(_ ports: PortMap?) -> Int? {
        let bound = (ports ?? [:]).compactMap { key, bindings -> (container: Int, host: Int)? in
            guard let container = PortKey.number(key),
                let host = bindings?.first?.hostPort.flatMap({ Int($0) })
            else { return nil }
            return (container, host)
        }
        return bound.min { $0.container < $1.container }?.host
    }
}

/// One container as `GET /containers/json` lists it.
public struct ContainerSummary: Sendable, Hashable {
    public var id: String
    /// The name, without the engine's leading `/`.
    public var name: String
    /// The image as the container was created from it (a name or an id).
    public var image: String
    public var imageID: String
    public var state: ContainerState
    /// Without mini's labels left unset (see ``ContainerLabel/withoutUnset(_:)``).
    public var labels: [String: String]
    /// The `127.0.0.1` port the first published container port is bound to, while running.
    public var hostPort: Int?
    public var created: Date
}

extension ContainerSummary: Decodable {
    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case names = "Names"
        case image = "Image"
        case imageID = "ImageID"
        case state = "State"
        case labels = "Labels"
        case ports = "Ports"
        case created = "Created"
    }

    private struct Port: Decodable {
        var privatePort: Int
        var publicPort: Int?

        enum CodingKeys: String, CodingKey {
            case privatePort = "PrivatePort"
            case publicPort = "PublicPort"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let names = try container.decodeIfPresent([String].self, forKey: .names) ?? []
        let ports = try container.decodeIfPresent([Port].self, forKey: .ports) ?? []
        self.id = try container.decode(String.self, forKey: .id)
        self.name = names.first.map(ContainerInfo.withoutLeadingSlash) ?? ""
        self.image = try container.decode(String.self, forKey: .image)
        self.imageID = try container.decode(String.self, forKey: .imageID)
        self.state = try container.decode(ContainerState.self, forKey: .state)
        self.labels = ContainerLabel.withoutUnset(
            try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:])
        self.hostPort = ports.sorted { $0.privatePort < $1.privatePort }.lazy.compactMap(\.publicPort).first
        self.created = Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .created))
    }
}
