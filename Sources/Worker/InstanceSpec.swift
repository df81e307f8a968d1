import Docker
import MiniCore
import Store

/// How mini runs an instance of a release: one place, for the deploy pipeline and the
/// reconciler that recreates lost instances.
enum InstanceSpec {
    /// The container name of instance `index` of `version`: `mini-<app>-v<version>-<index>`.
    static func name(app: String, version: Int, index: Int) -> String {
        "mini-\(app)-v\(version)-\(index)"
    }

    /// The container of a release command (``DeployPipeline/runReleaseCommand(_:plan:)``):
    /// the release's image, environment (with `PORT`) and limits, the command replacing its
    /// `CMD`, no port, no restart. Labelled with its app, so the reconciler leaves it alone
    /// while the app's job runs and removes it if its worker left it behind.
    static func releaseCommand(
        _ command: [String], app: String, version: Int, attempt: Int, image: String, containerPort: Int,
        environment: [String: String], limits: ResourceLimits, installation: Installation
    ) -> ContainerSpec {
        ContainerSpec.runningOnce(
            command, name: "mini-\(app)-v\(version)-release-\(attempt)", image: image,
            env: ContainerSpec.environment(environment, port: containerPort),
            labels: [
                ContainerLabel.installation: installation.id, ContainerLabel.app: app,
                ContainerLabel.release: String(version),
            ],
            memoryLimit: limits.memoryBytes, nanoCPUs: limits.nanoCpus
        )
    }

    /// The container of an instance: the release's image and environment plus `PORT`,
    /// published on `127.0.0.1:hostPort`, labelled for the reconciler, restarted by the
    /// engine (also after an engine restart) unless stopped on purpose, with an init process
    /// so SIGTERM reaches the app and old releases stop quickly, and its output kept in
    /// rotated files (``ContainerSpec/LogRotation/kept``).
    static func container(
        app: String, version: Int, index: Int, image: String, containerPort: Int,
        environment: [String: String], hostPort: Int, limits: ResourceLimits, installation: Installation
    ) -> ContainerSpec {
        ContainerSpec(
            name: name(app: app, version: version, index: index), image: image,
            env: ContainerSpec.environment(environment, port: containerPort),
            labels: [
                ContainerLabel.installation: installation.id, ContainerLabel.app: app,
                ContainerLabel.release: String(version), ContainerLabel.instance: String(index),
            ],
            publishedPort: .init(containerPort: containerPort, hostPort: hostPort),
            memoryLimit: limits.memoryBytes, nanoCPUs: limits.nanoCpus,
            restartPolicy: .unlessStopped, runsInit: true, logRotation: .kept
        )
    }
}
