import Docker
import Foundation
import Hummingbird
import MiniCore
import NIOCore
import Store

/// `POST /v1/apps/{app}/run`: runs a one-off command in a new container of the app's current
/// release (see ``OneOffRun``) and answers its output as it comes, one JSON ``RunEvent`` per
/// line, ending with its exit status. The command is stopped and its container removed when
/// the command ends, when the client goes first (as a `heroku run` dyno when its terminal
/// closes), and when minid stops.
struct RunRoutes {
    let apps: AppStore
    let docker: DockerClient
    let runs: OneOffRuns
    let followedStreams: FollowedStreams

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.post("apps/:app/run", use: run)
    }

    @Sendable func run(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        let app = try await apps.existingApp(name)
        // Collected into the request, not only read: watching for the client to go (see
        // `Response.stream`) then reads on from the body's end. Reading an already read body
        // to its end there traps in Hummingbird 2.28 (a request stream source deinited
        // unfinished).
        var collected = request
        _ = try await collected.collectBody(upTo: context.maxUploadSize)
        let body = try await collected.decodeJSON(RunRequest.self, context: context)
        try Self.validate(body)
        guard let current = app.currentRelease,
            let release = try await apps.releases(of: name).first(where: { $0.version == current })
        else {
            throw APIError.conflict("\(name) has no release to run a command in; deploy it first")
        }
        try await Self.checkImage(of: release, app: name, on: docker)
        let oneOff = OneOffRun(
            docker: docker, runs: runs, app: name, release: release, request: body,
            installation: apps.database.installation, logger: context.logger)
        context.logger.info(
            "one-off run", metadata: ["app": "\(name)", "release": "\(current)", "container": "\(oneOff.spec.name)"])
        let tokenEnd = collected.tokenEnd(in: apps.database, context: context)
        return Response.stream(
            for: collected, contentType: "application/x-ndjson", follow: true, countedIn: followedStreams,
            onStop: oneOff.stop
        ) { [apps, followedStreams] writer in
            try await oneOff.run(
                stillWanted: { try await apps.app(name) != nil }, stopping: { followedStreams.isStopping },
                tokenEnd: tokenEnd
            ) {
                try await writer.write($0)
            }
        }
    }

    /// A command to run and variable names that can be set; 400 otherwise.
    private static func validate(_ body: RunRequest) throws {
        guard CommandArguments.nameAProgram(body.command) else {
            throw APIError.badRequest("give the command to run, such as [\"rake\", \"db:migrate\"]")
        }
        if let problem = CommandArguments.problem(with: body.command) { throw APIError.badRequest(problem) }
        try EnvironmentKey.requireValid(body.env)
    }

    /// Checks that the engine answers and has the release's image, so that the likely
    /// refusals come as an HTTP status before the answer's lines begin.
    private static func checkImage(of release: ReleaseRecord, app: AppName, on docker: DockerClient) async throws {
        do {
            _ = try await docker.inspectImage(release.image)
        } catch let error as DockerError where error.code == .daemonUnreachable {
            throw APIError.unavailable("the Docker engine does not answer; start dockerd and try again")
        } catch let error as DockerError where error.code == .notFound {
            throw APIError.conflict(
                "the image of \(app)'s release v\(release.version) is gone from the engine: \(error.message); "
                    + "deploy again")
        } catch let error as DockerError {
            throw APIError.unavailable("the Docker engine could not show the release's image: \(error.message)")
        }
    }
}
