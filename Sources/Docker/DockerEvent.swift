import Foundation

/// Something that happened to a container, from the engine's `/events` stream.
public struct DockerEvent: Sendable, Hashable {
    /// What happened, such as ``Action/start`` or ``Action/die``.
    public struct Action: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The container started (also after an engine-driven restart).
        public static let start = Action(rawValue: "start")
        /// The container's main process ended; ``DockerEvent/exitCode`` says how.
        public static let die = Action(rawValue: "die")
        /// The container was removed.
        public static let destroy = Action(rawValue: "destroy")

        public var description: String { rawValue }
    }

    public var action: Action
    /// The full id of the container.
    public var containerID: String
    /// The container's name, image and labels, and `exitCode` for ``Action/die``.
    public var attributes: [String: String]
    public var time: Date

    public init(action: Action, containerID: String, attributes: [String: String], time: Date) {
        self.action = action
        self.containerID = containerID
        self.attributes = attributes
        self.time = time
    }

    /// The exit code of a ``Action/die`` event.
    public var exitCode: Int? { attributes["exitCode"].flatMap { Int($0) } }
}

extension DockerEvent: Decodable {
    private enum CodingKeys: String, CodingKey {
        case action = "Action"
        case actor = "Actor"
        case timeNano
    }

    private struct Actor: Decodable {
        var id: String
        var attributes: [String: String]?

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case attributes = "Attributes"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let actor = try container.decode(Actor.self, forKey: .actor)
        self.init(
            action: Action(rawValue: try container.decode(String.self, forKey: .action)),
            containerID: actor.id,
            attributes: actor.attributes ?? [:],
            time: Date(
                timeIntervalSince1970: Double(try container.decode(Int64.self, forKey: .timeNano)) / 1e9)
        )
    }
}
