import Docker
import Foundation
import HTTPTypes
import Hummingbird
import Logging
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
        group.post("apps/:app/run/input", use: runWithInput)
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
        let release = try await runnableRelease(of: app)
        let oneOff = OneOffRun(
            docker: docker, runs: runs, app: name, release: release, request: body,
            installation: apps.database.installation, logger: context.logger)
        Self.log(oneOff, to: context.logger)
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

    /// `POST /v1/apps/{app}/run/input`, a run with input (`mini run` at a terminal, `mini run
    /// -i`): the request body is NDJSON, a ``RunRequest`` on its first line and ``RunInput`` lines while
    /// the command runs, read at the pace the command reads its stdin. The answer is as for a
    /// run without input; a request that is not a valid run comes as its error line, since the
    /// answer begins before the body's first line is read.
    @Sendable func runWithInput(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        let app = try await apps.existingApp(name)
        let release = try await runnableRelease(of: app)
        let container = OneOffRun.containerName(for: name)
        let tokenEnd = request.tokenEnd(in: apps.database, context: context)
        let (apps, docker, runs, followedStreams, logger) = (apps, docker, runs, followedStreams, context.logger)
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        headers[.cacheControl] = "no-cache"
        headers[.connection] = "close"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await followedStreams.counting(onStop: { OneOffRun.stop(container, on: docker) }) {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        let (requests, nextRequest) = AsyncStream.makeStream(of: Result<RunRequest, APIError>.self)
                        let (stdins, stdinReady) = AsyncStream.makeStream(of: RunStdin.self)
                        group.addTask {
                            await RunInputReader.read(request.body, request: nextRequest, stdin: stdins)
                        }
                        var first = requests.makeAsyncIterator()
                        switch await first.next() {
                        case nil:
                            break  // the client went before it said what to run
                        case .failure(let error):
                            try await writer.write(try OneOffRun.errorLine(error.message))
                        case .success(let body):
                            do {
                                try Self.validate(body)
                            } catch let error as APIError {
                                try await writer.write(try OneOffRun.errorLine(error.message))
                                break
                            }
                            let oneOff = OneOffRun(
                                docker: docker, runs: runs, app: name, release: release, request: body,
                                name: container, withInput: true, installation: apps.database.installation,
                                logger: logger)
                            Self.log(oneOff, to: logger)
                            try await oneOff.run(
                                stillWanted: { try await apps.app(name) != nil },
                                stopping: { followedStreams.isStopping }, tokenEnd: tokenEnd, stdin: stdinReady
                            ) { try await writer.write($0) }
                        }
                        stdinReady.finish()
                        // The client ends its request once it has read the answer's end: the
                        // reader takes the rest of it meanwhile (a connection closed on unread
                        // bytes is reset, and the client would lose the answer's last bytes),
                        // for as long as a slow client may need.
                        try await writer.finish(nil)
                        group.addTask {
                            try await Task.sleep(for: Self.requestEndWait)
                            throw CancellationError()
                        }
                        _ = try? await group.next()
                        group.cancelAll()
                    }
                }
            }
        )
    }

    /// How long a run with input waits, once its answer has ended, for its client to end the
    /// request.
    static let requestEndWait = Duration.seconds(30)

    /// The release a command runs in: the current one, whose image the engine has; 409 or 503
    /// otherwise, before the answer's lines begin.
    private func runnableRelease(of app: AppRecord) async throws -> ReleaseRecord {
        let name = try AppName(app.name)
        guard let current = app.currentRelease,
            let release = try await apps.releases(of: name).first(where: { $0.version == current })
        else {
            throw APIError.conflict("\(name) has no release to run a command in; deploy it first")
        }
        try await Self.checkImage(of: release, app: name, on: docker)
        return release
    }

    private static func log(_ oneOff: OneOffRun, to logger: Logger) {
        logger.info(
            "one-off run",
            metadata: [
                "app": "\(oneOff.app)", "release": "\(oneOff.release)", "container": "\(oneOff.spec.name)",
                "input": "\(oneOff.spec.stdin.map { "\($0)" } ?? "none")",
            ])
    }

    /// A command to run and variable names that can be set; 400 otherwise.
    private static func validate(_ body: RunRequest) throws {
        guard CommandArguments.nameAProgram(body.command) else {
            throw APIError.badRequest("give the command to run, such as [\"rake\", \"db:migrate\"]")
        }
        if let problem = CommandArguments.problem(with: body.command) { throw APIError.badRequest(problem) }
        if let terminal = body.terminal, !terminal.isValid {
            throw APIError.badRequest(TerminalSize.rule)
        }
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
