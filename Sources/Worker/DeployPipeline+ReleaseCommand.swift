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
        let id = try await docker.createContainer(spec)
        let status: Int
        do {
            status = try await docker.runToExit(id) { lines in try log.append(lines: lines.map { "       \($0.text)" })
            }
        } catch {
            await docker.stopAndRemove(id, grace: Self.releaseCommandStopGraceSeconds)
            throw error
        }
        await docker.stopAndRemove(id, grace: Self.releaseCommandStopGraceSeconds)
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
}
