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
        _ = try apps.existingApp(name)
        guard request.uri.queryParameters["confirm"].map(String.init) == name.rawValue else {
            throw APIError.badRequest("destroying \(name) deletes everything of it; confirm with ?confirm=\(name)")
        }
        try await stopJobs(of: name)
        let installation = apps.database.installation
        let tagPrefix = "mini/\(name.rawValue):"
        // What to remove, asked before anything is deleted: an engine that does not answer
        // leaves the app whole.
        let containers: [ContainerSummary]
        let images: [ImageSummary]
        do {
            containers =
                try await docker.listContainers(labels: [ContainerLabel.app: name.rawValue], all: true)
                + docker.listContainers(labels: [ContainerLabel.oneOff: name.rawValue], all: true)
            images = try await docker.listImages(reference: "mini/\(name.rawValue)")
        } catch let error as DockerError where error.code == .daemonUnreachable {
            throw APIError.unavailable(
                "the Docker engine does not answer, so \(name) was not destroyed; start dockerd and try again"
            )
        }
        // The rows go first: from then on the reconciler no longer recreates an instance this
        // removes, and removes any container of the app left behind (its own, by label).
        let jobs = try apps.deleteApp(name)
        for job in jobs {
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory.logPath(job: job))
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory.uploadPath(job: job))
        }
        // Not the containers of an app of the same name that another mini on the engine runs,
        // nor the tags of the images they run.
        let foreignImages = Set(containers.filter { !installation.mayOwn($0.labels) }.map(\.imageID))
        do {
            for container in containers where installation.mayOwn(container.labels) {
                // A worker may be removing the same container right now (a drain).
                try await Self.toleratingConflict {
                    try await docker.removeContainer(container.id, force: true, ignoreMissing: true)
                }
            }
            // By tag, not by id: an app deployed from the same code has the same image under
            // a tag of its own, and keeps it.
            for image in images where !foreignImages.contains(image.id) {
                for tag in image.tags where tag.hasPrefix(tagPrefix) {
                    do {
                        try await Self.toleratingConflict {
                            try await docker.removeImage(tag, force: false, ignoreMissing: true)
                        }
                    } catch let error as DockerError where error.code == .conflict {
                        // Its last tag, and a container mini did not remove runs it: both stay.
                        context.logger.warning(
                            "image tag kept: the engine says its image is in use",
                            metadata: ["tag": "\(tag)", "error": "\(error.message)"])
                    }
                }
            }
        } catch let error as DockerError {
            context.logger.warning(
                "destroyed app's containers or images not all removed; the reconciler removes its containers",
                metadata: ["app": "\(name)", "error": "\(error.message)"])
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
            let pending = try queue.jobs(app: app, limit: 10_000).filter { !$0.state.isFinal }
            guard let running = pending.first(where: { $0.state == .running }) ?? pending.first else { return }
            for job in pending {
                // Asking again changes nothing; a job that already published its release
                // cannot be cancelled, and ends soon.
                _ = try? queue.cancel(job.id)
            }
            guard ContinuousClock.now < deadline else {
                throw APIError.conflict(
                    "job \(running.id) of \(app) is still stopping, so \(app) was not destroyed; try again in a moment")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Runs `body`, trying again for up to 3 s while the engine answers "conflict" (a
    /// container already being removed, an image still used by one that is going away).
    private static func toleratingConflict(_ body: () async throws -> Void) async throws {
        for _ in 0..<15 {
            do {
                return try await body()
            } catch let error as DockerError where error.code == .conflict {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        try await body()
    }
}
