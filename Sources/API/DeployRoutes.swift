import Archive
import Foundation
import Hummingbird
import MiniCore
import NIOPosix
import Queue
import Store

/// `POST /v1/apps/{app}/deploys`: saves the build context and queues a build job.
struct DeployRoutes {
    let configuration: APIConfiguration
    let queue: JobQueue
    let foreignApps: ForeignAppCheck

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.post("apps/:app/deploys", use: deploy)
    }

    @Sendable func deploy(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try context.parameters.appName()
        // Before the upload is read: a deploy creates its app.
        if try await AppStore(database: queue.database).app(app) == nil {
            try await foreignApps.refuseIfTaken(app)
        }
        let receiver = UploadReceiver(
            directory: configuration.dataDirectory.uploadsPath, maxBytes: configuration.maxUploadBytes,
            limits: ArchiveLimits(
                contentBytes: configuration.maxContextBytes, entries: configuration.maxContextEntries),
            minFreeDiskBytes: configuration.minFreeDiskBytes
        )
        let dockerfile = request.uri.queryParameters["dockerfile"].map(String.init)
        if let dockerfile, let problem = DockerfilePath.problem(with: dockerfile) {
            throw APIError.badRequest(problem)
        }
        let declaredLength = request.headers[.contentLength].flatMap { Int64($0) }
        let upload = try await receiver.save(
            request.body, declaredLength: declaredLength, dockerfile: dockerfile ?? DockerfilePath.standard)
        let dataDirectory = configuration.dataDirectory
        do {
            let job = try await queue.enqueue(
                app: app, uploadBytes: upload.bytes,
                dockerfile: dockerfile == DockerfilePath.standard ? nil : dockerfile, requestedBy: context.tokenName
            ) { id in
                let destination = dataDirectory.uploadPath(job: id)
                // A file there was moved by a transaction that then failed (disk full, a crash):
                // the id is this job's now.
                try? FileManager.default.removeItem(atPath: destination)
                try FileManager.default.moveItem(atPath: upload.path, toPath: destination)
                return destination
            }
            // After the commit, off the database's write lock and the request threads: the
            // file's data was synced before, this makes the rename durable too.
            try? await NIOThreadPool.singleton.runIfActive { [path = dataDirectory.uploadsPath] in
                DataDirectory.syncFolder(path)
            }
            context.logger.info(
                "queued deploy", metadata: ["app": "\(app)", "job": "\(job.id)", "bytes": "\(upload.bytes)"])
            return try jsonResponse(
                DeployAccepted(job: job, url: configuration.url(of: app.rawValue), notes: upload.notes),
                status: .accepted)
        } catch {
            try? FileManager.default.removeItem(atPath: upload.path)
            throw error
        }
    }
}
