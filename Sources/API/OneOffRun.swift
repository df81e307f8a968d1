import Docker
import Foundation
import MiniCore
import Store

/// A one-off command in a new container of a release (`mini run`): the release's image,
/// environment (with `PORT`, and the run's own variables on top) and limits; no published
/// port, no restart, an init process that passes signals on. Labelled as a one-off of
/// `owner`, which the reconciler of the same process leaves alone while its run lasts.
struct OneOffRun: Sendable {
    let docker: DockerClient
    let spec: ContainerSpec
    let release: Int

    /// How much output the engine keeps while it is streamed: it is read as it comes.
    static let logRotation = ContainerSpec.LogRotation(maxFileBytes: 10 << 20, maxFiles: 3)

    init(docker: DockerClient, app: AppName, release: ReleaseRecord, request: RunRequest, owner: OneOffOwner) {
        var environment = release.environment.merging(request.env) { _, runs in runs }
        environment["PORT"] = String(release.containerPort)
        let suffix = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        self.docker = docker
        self.release = release.version
        spec = ContainerSpec(
            name: "mini-\(app)-run-\(String(repeating: "0", count: 6 - suffix.count))\(suffix)",
            image: release.image, env: ContainerSpec.environment(environment),
            labels: [
                ContainerLabel.oneOff: app.rawValue, ContainerLabel.oneOffOwner: owner.rawValue,
                ContainerLabel.release: String(release.version),
            ],
            command: request.command, memoryLimit: release.memoryBytes, nanoCPUs: release.nanoCpus,
            restartPolicy: .none, runsInit: true, logRotation: Self.logRotation
        )
    }

    /// Creates the container, not started yet; ``run(container:emit:)`` starts it.
    func create() async throws -> String {
        try await docker.createContainer(spec)
    }

    /// Starts the created container and passes on its output as it comes, then its exit
    /// status (or why it could not run to its end), and removes the container, also when
    /// the caller is cancelled (its client went away) or `emit` fails.
    func run(container id: String, emit: (RunEvent) async throws -> Void) async throws {
        do {
            try await emit(RunEvent(container: spec.name, release: release))
            try await emit(try await output(of: id, emit: emit))
        } catch {
            await remove(id)
            throw error
        }
        await remove(id)
    }

    /// Streams the output and returns the last event: the exit status, or the engine's error.
    private func output(of id: String, emit: (RunEvent) async throws -> Void) async throws -> RunEvent {
        do {
            try await docker.startContainer(id)
            for try await line in docker.containerLogs(id, follow: true) {
                try await emit(RunEvent(stream: line.stream.rawValue, text: line.text))
            }
            return RunEvent(exitCode: try await docker.waitForExit(id))
        } catch let error as DockerError where error.code == .daemonUnreachable {
            return RunEvent(error: "the Docker engine stopped answering; the command's end is unknown")
        } catch let error as DockerError {
            return RunEvent(error: "the Docker engine could not run the command: \(error.message)")
        }
    }

    /// Removes the container (killing the command if it still runs) from a task of its own,
    /// which a cancelled request does not cancel.
    private func remove(_ id: String) async {
        await Task { [docker] in
            try? await docker.removeContainer(id, force: true, ignoreMissing: true)
        }.value
    }
}
