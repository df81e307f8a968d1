import Foundation

/// What the engine knows about one image (`GET /images/{name}/json`).
public struct ImageInfo: Sendable, Hashable {
    /// The image id, `sha256:...`.
    public var id: String
    /// The names the image carries, such as `mini/hello:v3`.
    public var tags: [String]
    /// The TCP ports the image `EXPOSE`s, ascending.
    public var exposedTCPPorts: [Int]
    /// The image's environment, `KEY=value`.
    public var env: [String]
    public var labels: [String: String]
}

extension ImageInfo: Decodable {
    private struct Config: Decodable {
        var exposedPorts: [String: EmptyObject]?
        var env: [String]?
        var labels: [String: String]?

        enum CodingKeys: String, CodingKey {
            case exposedPorts = "ExposedPorts"
            case env = "Env"
            case labels = "Labels"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case tags = "RepoTags"
        case config = "Config"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let config = try container.decodeIfPresent(Config.self, forKey: .config)
        self.id = try container.decode(String.self, forKey: .id)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        self.exposedTCPPorts = PortKey.tcpPorts(in: config?.exposedPorts?.keys)
        self.env = config?.env ?? []
        self.labels = config?.labels ?? [:]
    }
}

/// One image as `GET /images/json` lists it.
public struct ImageSummary: Sendable, Hashable {
    public var id: String
    public var tags: [String]
    public var labels: [String: String]
    public var created: Date
}

extension ImageSummary: Decodable {
    private enum CodingKeys: String, CodingKey {
        case id = "Id"
        case tags = "RepoTags"
        case labels = "Labels"
        case created = "Created"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        self.labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        self.created = Date(timeIntervalSince1970: try container.decode(Double.self, forKey: .created))
    }
}

/// `{}`, the value of a set-like engine map such as `ExposedPorts`.
struct EmptyObject: Codable, Sendable {}

/// The engine's port keys, `8080/tcp`.
enum PortKey {
    static func tcp(_ port: Int) -> String { "\(port)/tcp" }

    /// The port number of a key such as `8080/tcp`.
    static func number(_ key: String) -> Int? {
        key.split(separator: "/").first.flatMap { Int($0) }
    }

    /// The TCP port numbers among `keys`, ascending.
    static func tcpPorts(in keys: (some Sequence<String>)?) -> [Int] {
        guard let keys else { return [] }
        return keys.filter { $0.hasSuffix("/tcp") }.compactMap(number).sorted()
    }
}
