import Foundation
import Hummingbird
import MiniCore
import Queue

/// The job routes: state, list, cancel and the build log.
struct JobRoutes {
    let configuration: APIConfiguration
    let queue: JobQueue
    let followedStreams: FollowedStreams

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("jobs", use: list)
        group.get("jobs/:id", use: show)
        group.post("jobs/:id/cancel", use: cancel)
        group.get("jobs/:id/log", use: log)
    }

    @Sendable func list(request: Request, context: MiniRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        var app: AppName?
        if let text = query["app"].map(String.init), !text.isEmpty {
            let name = try AppName.fromRequest(text)
            try context.requireAccess(to: name)
            app = name
        }
        var state: JobState?
        if let text = query["state"].map(String.init), !text.isEmpty {
            guard let parsed = JobState(rawValue: text) else {
                let states = JobState.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.badRequest("unknown job state '\(text)'; use one of \(states)")
            }
            state = parsed
        }
        let limit = try request.integerQuery("limit", default: 100, in: 1...1000)
        return try await jsonResponse(
            JobList(jobs: try queue.jobs(app: app, access: context.appAccess, state: state, limit: limit)))
    }

    @Sendable func show(request: Request, context: MiniRequestContext) async throws -> Response {
        try jsonResponse(try await accessibleJob(context))
    }

    @Sendable func cancel(request: Request, context: MiniRequestContext) async throws -> Response {
        let id = try await accessibleJob(context).id
        return try jsonResponse(try await mapQueueError { try await queue.cancel(id) })
    }

    /// The build log as text; with `follow=1`, streamed until the job ends.
    @Sendable func log(request: Request, context: MiniRequestContext) async throws -> Response {
        let id = try await accessibleJob(context).id
        let follow = request.asksToFollow
        let tail = BuildLogTail(
            path: configuration.dataDirectory.logPath(job: id), job: id, queue: queue,
            pollInterval: configuration.logPollInterval,
            endCheck: followedStreams.endCheck(for: request, context: context, in: queue.database)
        )
        return Response.stream(for: request, follow: follow, countedIn: followedStreams) { writer in
            try await tail.stream(follow: follow) { chunk in try await writer.write(chunk) }
        }
    }

    /// The job of the `{id}` parameter; 404 when there is none, and as well when it is of an
    /// app the request's token may not act on (which learns nothing of other apps so).
    private func accessibleJob(_ context: MiniRequestContext) async throws -> JobInfo {
        let id = try context.parameters.jobID()
        let job = try await mapQueueError { try await queue.job(id) }
        guard context.appAccess.allows(job.app) else { throw APIError.notFound(QueueError.jobNotFound(id).description) }
        return job
    }
}
