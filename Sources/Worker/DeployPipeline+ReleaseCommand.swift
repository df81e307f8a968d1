import Docker
import Foundation
import MiniCore

extension DeployPipeline {
    /// Runs the app's release command in the new image, with the new release's environment
    /// and limits, before any instance starts, writing its output to the build log. The
    /// deploy fails when it exits with a status other than 0, and the release before serves
    /// on; the job's build timeout bounds it. Its container goes whatever happens, a cancel
    /// included.
    func runReleaseCommand(_ command: [String], plan: ReleasePlan) async throws {
        try log.append("-----> Running the release command: \(command.joined(separator: " "))")
        let spec = InstanceSpec.releaseCommand(
            command, app: app.rawValue, version: plan.version, image: plan.image, containerPort: plan.containerPort,
            environment: plan.environment, limits: plan.limits
        )
        // A retried attempt may find the container of an earlier one.
        try? await docker.removeContainer(spec.name, force: true, ignoreMissing: true)
        let status: Int
        do {
            let id = try await docker.createContainer(spec)
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
            await removeContainer(spec.name)
            throw error
        }
        await removeContainer(spec.name)
        guard status == 0 else {
            throw DeployFailure.permanent(
                "release command failed",
                "the release command exited with status \(status); the release before serves on")
        }
        try log.append("-----> The release command succeeded")
    }

    /// Removes a container from a task of its own, which a cancelled job does not cancel.
    private func removeContainer(_ name: String) async {
        await Task { [docker] in try? await docker.removeContainer(name, force: true, ignoreMissing: true) }.value
    }
}
