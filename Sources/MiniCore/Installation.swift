/// One mini installation (a data folder and its database) among those that may share a
/// Docker engine: which containers it may treat as its own (``ContainerLabel/installation``).
public struct Installation: Sendable, Hashable {
    /// The id its database holds.
    public let id: String

    public init(id: String) {
        self.id = id
    }

    /// Whether the container is its own, and may go when nothing of it wants the container:
    /// labelled with its id, or without the label (made by a mini from before it) and of one
    /// of `apps`, its apps (installations sharing an engine have apps of different names).
    public func owns(_ labels: [String: String], apps: Set<String>) -> Bool {
        if let creator = labels[ContainerLabel.installation] { return creator == id }
        return (labels[ContainerLabel.app] ?? labels[ContainerLabel.oneOff]).map(apps.contains) ?? false
    }

    /// Whether the container may be its own: created by it, or by a mini from before the
    /// label (kept or replaced under a name this installation recorded).
    public func mayOwn(_ labels: [String: String]) -> Bool {
        labels[ContainerLabel.installation].map { $0 == id } ?? true
    }
}
