import Docker
import Foundation
import Hummingbird
import MiniCore
import Queue
import Store

/// `DELETE /v1/apps/{app}?confirm=<app>`: stops the app's jobs, removes its containers and
/// images, and deletes its routes, releases, env, jobs, build logs and uploads.
struct AppDestroyRoutes {
    let configuration: APIConfiguration
    let apps: AppStore
    let queue: JobQueue
    let docker: DockerClient

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.delete("apps/:app", use: destroy)
    }

    @Sendable func destroy(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        _ = try await apps.existingApp(name)
        guard request.uri.queryParameters["confirm"].map(String.init) == name.rawValue else {
            throw APIError.badRequest("destroying \(name) deletes everything of it; confirm with ?confirm=\(name)")
        }
        try await stopJobs(of: name)
        // What to remove, asked before anything is deleted: an engine that does not answer
        // leaves the app whole.
        let resources: DockerClient.AppResources
        do {
            resources = try await docker.resources(ofApp: name.rawValue)
        } catch let error as DockerError where error.code == .daemonUnreachable {
            throw APIError.unavailable(
                "the Docker engine does not answer, so \(name) was not destroyed; start dockerd and try again"
            )
        }
        // The rows go first: from then on the reconciler no longer recreates an instance this
        // removes. They leave a note that the app's containers and images are to go, which the
        // reconciler acts on if this process dies before it has removed them all.
        let (jobs, requestedAt) = try await apps.deleteApp(name)
        for job in jobs {
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory.logPath(job: job))
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory.uploadPath(job: job))
        }
        do {
            if try await docker.remove(
                resources, ofApp: name.rawValue, installation: apps.database.installation, logger: context.logger)
            {
                try await apps.forgetRemoval(of: name, requestedAt: requestedAt)
            }
        } catch {
            // The app is destroyed all the same: the reconciler finishes what is left.
            context.logger.warning(
                "destroyed app's containers or images not all removed; the reconciler removes the rest",
                metadata: ["app": "\(name)", "error": "\(error)"])
        }
        context.logger.info("destroyed app", metadata: ["app": "\(name)"])
        return Response(status: .noContent)
    }

    /// Cancels the app's queued and running jobs and waits until none runs: a running job's
    /// worker removes what it started before the job ends, and one that published its release
    /// ends within a second. Until then, its worker could still create a container. Jobs
    /// queued meanwhile are cancelled too.
    private func stopJobs(of app: AppName) async throws {
        let deadline = ContinuousClock.now + configuration.destroyJobStopTimeout
        while true {
            let pending = try await queue.jobs(app: app, limit: 10_000).filter { !$0.state.isFinal }
            guard let running = pending.first(where: { $0.state == .running }) ?? pending.first else { return }
            for job in pending {
                // Asking again changes nothing; a job that already published its release
                // cannot be cancelled, and ends soon.
                _ = try? await queue.cancel(job.id, reason: "\(app) was destroyed")
            }
            guard ContinuousClock.now < deadline else {
                throw APIError.conflict(
                    "job \(running.id) of \(app) is still stopping, so \(app) was not destroyed; try again in a moment")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
