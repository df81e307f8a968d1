import MiniCore

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
