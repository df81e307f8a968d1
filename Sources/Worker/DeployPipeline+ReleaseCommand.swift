import Docker
import Foundation
import MiniCore

extension DeployPipeline {
    /// Runs the app's release command in the new image, with the new release's environment
    /// and limits, before any instance starts, writing its output to the build log. The
    /// deploy fails when it exits with a status other than 0, and the release before serves
    /// on; the job's build timeout bounds it. Its container, named after the attempt (an
    /// earlier attempt's worker may still be cleaning up its own), goes whatever happens: a
    /// cancel, a timeout or a shutdown stops the command (SIGTERM, then SIGKILL after
    /// ``releaseCommandStopGraceSeconds``) first.
    func runReleaseCommand(_ command: [String], plan: ReleasePlan) async throws {
        try log.append("-----> Running the release command: \(ShellQuoting.quote(command))")
        let spec = InstanceSpec.releaseCommand(
            command, app: app.rawValue, version: plan.version, attempt: job.info.attempt, image: plan.image,
            containerPort: plan.containerPort, environment: plan.environment, limits: plan.limits
        )
        let status: Int
        var id: String?
        do {
            id = try await docker.createContainer(spec)
            let id = id ?? spec.name
            let exit = try await docker.watchExit(of: id)
            var lines = try await docker.attachOutput(id).makeAsyncIterator()
            try await docker.startContainer(id)
            var batch: [String] = []
            while let line = try await lines.next() {
                batch.append("       \(line.text)")
                if !lines.hasPending {
                    try log.append(lines: batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try log.append(lines: batch) }
            status = try await exit.status()
        } catch {
            await removeContainer(id)
            throw error
        }
        await removeContainer(id)
        guard status == 0 else {
            throw DeployFailure.permanent(
                "release command failed",
                "the release command exited with status \(status); the release before serves on")
        }
        try log.append("-----> The release command succeeded")
    }

    /// How long a release command that must stop gets between SIGTERM and SIGKILL: well
    /// within systemd's stop timeout for minid (45 s).
    static let releaseCommandStopGraceSeconds = 10

    /// Stops (if it runs) and removes a container, from a task of its own, which a cancelled
    /// job does not cancel.
    private func removeContainer(_ id: String?) async {
        guard let id else { return }
        await Task { [docker] in
            try? await docker.stopContainer(id, timeout: Self.releaseCommandStopGraceSeconds)
            try? await docker.removeContainer(id, force: true, ignoreMissing: true)
        }.value
    }
}
