import MiniCore

/// One mini installation (a data folder and its database) among those that may share a
/// Docker engine: which containers it may treat as its own (``ContainerLabel/installation``).
public struct Installation: Sendable, Hashable {
    /// The id its database holds.
    public let id: String

    public init(id: String) {
        self.id = id
    }

    /// Whether it created the container: only such a container may go when nothing of this
    /// installation wants it.
    public func created(_ labels: [String: String]) -> Bool {
        labels[ContainerLabel.installation] == id
    }

    /// Whether the container may be its own: created by it, or by a mini from before the
    /// label (kept or replaced under a name this installation recorded, never removed as
    /// unwanted, since it may be another installation's).
    public func mayOwn(_ labels: [String: String]) -> Bool {
        labels[ContainerLabel.installation].map { $0 == id } ?? true
    }
}

extension DockerClient {
    /// Removes the container called `name`, which an earlier container of `installation` may
    /// have left, unless another installation created it.
    /// - Returns: false, leaving it, when the name is another installation's.
    public func removeLeftover(named name: String, of installation: Installation) async throws -> Bool {
        let info: ContainerInfo
        do {
            info = try await inspectContainer(name)
        } catch let error as DockerError where error.code == .notFound {
            return true
        }
        guard installation.mayOwn(info.labels) else { return false }
        try await removeContainer(info.id, force: true, ignoreMissing: true)
        return true
    }
}
