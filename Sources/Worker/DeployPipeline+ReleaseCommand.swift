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
        try await log.append("-----> Running the release command: \(ShellQuoting.quote(command))")
        let spec = InstanceSpec.releaseCommand(
            command, app: app.rawValue, version: plan.version, attempt: job.info.attempt, image: plan.image,
            containerPort: plan.containerPort, environment: plan.environment, limits: plan.limits,
            installation: installation
        )
        let id = try await Self.refusalIsTheApps { try await docker.createContainer(spec) }
        let status: Int
        var output = OutputLines()
        do {
            status = try await Self.refusalIsTheApps {
                try await docker.runToExit(id) { chunks in
                    try await appendToLog(chunks.flatMap { output.lines(completedBy: $0) })
                }
            }
            try await appendToLog(output.finish())
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
        try await log.append("-----> The release command succeeded")
    }

    /// Appends a release command's output lines to the build log, indented under its step.
    private func appendToLog(_ lines: [LogLine]) async throws {
        if !lines.isEmpty { try await log.append(lines: lines.map { "       \($0.text)" }) }
    }

    /// Stops the app's release command containers that earlier attempts left running (their
    /// worker died): they have no restart policy, but nothing stops them either, and a
    /// migration must not run twice at once. The app runs one job at a time, and this attempt
    /// has not started its own yet, so every one is an earlier attempt's.
    func stopEarlierReleaseCommands(among containers: [ContainerSummary]) async throws {
        let earlier = containers.filter {
            $0.name.hasPrefix("mini-\(app)-v") && $0.name.contains("-release-")
                && $0.labels[ContainerLabel.instance] == nil && installation.owns($0.labels, apps: [app.rawValue])
        }
        for container in earlier {
            try await log.append("-----> Stopping \(container.name), left running by an earlier attempt")
            await docker.stopAndRemove(container.id, grace: Self.releaseCommandStopGraceSeconds)
        }
    }

    /// How long a release command that must stop gets between SIGTERM and SIGKILL: well
    /// within systemd's stop timeout for minid (45 s).
    static let releaseCommandStopGraceSeconds = 10
}
