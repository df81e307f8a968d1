import Docker
import MiniCore
import Store

/// Refuses a new app whose name another mini on the same Docker engine uses, when it is
/// created rather than when its first build fails (the worker checks again before it builds:
/// the engine may change in between).
struct ForeignAppCheck {
    let docker: DockerClient
    let installation: Installation

    /// 409 when a container of another installation carries `app`'s name. An engine that
    /// does not answer leaves the check to the worker, which reports the engine's state.
    func refuseIfTaken(_ app: AppName) async throws {
        guard
            let containers = try? await docker.listContainers(labels: [ContainerLabel.app: app.rawValue], all: true),
            let foreign = containers.first(where: { !installation.mayOwn($0.labels) })
        else { return }
        throw APIError.conflict(
            "another mini on this Docker engine runs an app named \(app) (container \(foreign.name)); "
                + "choose another name")
    }
}
