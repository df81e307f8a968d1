import Docker
import Foundation
import Hummingbird
import Logging
import MiniCore
import Queue
import Store

/// Builds the router of the HTTP API (see DESIGN.md): every route but `/healthz` requires a
/// bearer token.
public func makeAPIRouter(
    configuration: APIConfiguration, database: MiniDatabase, queue: JobQueue, docker: DockerClient
) -> Router<MiniRequestContext> {
    UploadReceiver.removeLeftovers(in: configuration.dataDirectory.uploadsPath)
    // HEAD as GET without the body (load balancers check `/healthz` so).
    let router = Router(context: MiniRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: ErrorBodyMiddleware())
    router.get("/healthz") { _, _ in "ok\n" }
    let authenticated = router.group().add(middleware: BearerAuthMiddleware(tokens: TokenStore(database: database)))
    let followedStreams = FollowedStreams()
    MetricsRoutes(queue: queue, followedStreams: followedStreams, additionalMetrics: configuration.additionalMetrics)
        .register(on: authenticated)
    let v1 = authenticated.group("v1").add(middleware: AppAccessMiddleware())
    v1.get("version") { _, _ in try jsonResponse(VersionInfo(version: MiniVersion.current)) }
    v1.get("whoami") { _, context in
        try jsonResponse(
            TokenInfo(
                name: context.tokenName ?? "", apps: context.appAccess.patterns, expiresAt: context.token?.expiresAt))
    }
    let foreignApps = ForeignAppCheck(docker: docker, installation: database.installation)
    DeployRoutes(configuration: configuration, queue: queue, foreignApps: foreignApps).register(on: v1)
    JobRoutes(configuration: configuration, queue: queue, followedStreams: followedStreams).register(on: v1)
    let apps = AppStore(database: database)
    AppRoutes(configuration: configuration, apps: apps, queue: queue, docker: docker, foreignApps: foreignApps)
        .register(on: v1)
    AppLogRoutes(apps: apps, docker: docker, followedStreams: followedStreams).register(on: v1)
    RunRoutes(apps: apps, docker: docker, runs: configuration.oneOffRuns, followedStreams: followedStreams)
        .register(on: v1)
    DomainRoutes(configuration: configuration, apps: apps).register(on: v1)
    AppDestroyRoutes(configuration: configuration, apps: apps, queue: queue, docker: docker).register(on: v1)
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes.map { ($0.path, $0.method) }))
    return router
}

/// Builds the router of a metrics port (`minid proxy --metrics-port`): `GET /metrics` with
/// what `metrics` writes, behind the same bearer tokens as the API, and `/healthz`.
public func makeMetricsRouter(
    database: MiniDatabase, metrics: @escaping @Sendable (inout PrometheusText) async -> Void
) -> Router<MiniRequestContext> {
    // HEAD as GET without the body (load balancers check `/healthz` so).
    let router = Router(context: MiniRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.get("/healthz") { _, _ in "ok\n" }
    router.group().add(middleware: BearerAuthMiddleware(tokens: TokenStore(database: database)))
        .get("metrics") { _, context in
            try context.requireEveryApp("GET /metrics covers every app")
            var text = PrometheusText()
            await metrics(&text)
            return PrometheusText.response(text)
        }
    return router
}

extension AppName {
    /// Validates `text` as an app name, answering 400 `invalid_app_name` when it is not one.
    static func fromRequest(_ text: String) throws -> AppName {
        do {
            return try AppName(text)
        } catch {
            throw APIError.invalidAppName(error.message)
        }
    }
}

extension EnvironmentKey {
    /// 400 with what is wrong with the first of `keys` that is not a variable name mini sets.
    static func requireValid(_ keys: some Sequence<String>) throws {
        for key in keys {
            if let problem = problem(with: key) { throw APIError.badRequest(problem) }
        }
    }

    /// 400 as ``requireValid(_:)-(Sequence<String>)`` says, when a value holds a NUL byte,
    /// which no process environment can (the store would cut the value there), or when a
    /// variable is longer than Linux lets one be (the container would not start).
    static func requireValid(_ variables: [String: String]) throws {
        try requireValid(variables.keys)
        if let key = variables.filter({ $0.value.utf8.contains(0) }).keys.min() {
            throw APIError.badRequest("the value of \(key) holds a NUL byte, which no environment variable can")
        }
        if let key = variables.filter({ bytes(of: $0) > maxVariableBytes }).keys.min() {
            throw APIError.badRequest(
                "\(key) takes \(ByteSize.format(Int64(bytes(of: (key, variables[key] ?? ""))), rounding: .up)) with its value, more than "
                    + "the \(ByteSize.format(Int64(maxVariableBytes))) Linux lets a variable be: keep large values in a file "
                    + "or a service, and their location in the variable")
        }
    }

    /// 400 when `environment`, an app's whole environment after a change, is larger than
    /// ``maxEnvironmentBytes``.
    static func requireFits(_ environment: [String: String]) throws {
        let total = environment.reduce(0) { $0 + bytes(of: $1) }
        guard total <= maxEnvironmentBytes else {
            throw APIError.badRequest(
                "the environment would take \(ByteSize.format(Int64(total), rounding: .up)), more than the "
                    + "\(ByteSize.format(Int64(maxEnvironmentBytes))) an app's may: keep large values in files or a service"
            )
        }
    }

    /// The most bytes one `KEY=VALUE` may take, with its NUL (Linux's MAX_ARG_STRLEN).
    static let maxVariableBytes = 128 << 10
    /// The most bytes an app's environment may take: well within what the kernel passes to a
    /// new process beside its arguments, and what the engine's answers about a container carry.
    static let maxEnvironmentBytes = 512 << 10

    private static func bytes(of variable: (key: String, value: String)) -> Int {
        variable.key.utf8.count + 1 + variable.value.utf8.count + 1
    }
}

extension AppStore {
    /// The app, or 404 with how to create it.
    func existingApp(_ name: AppName) async throws -> AppRecord {
        guard let app = try await app(name) else {
            throw APIError.notFound("no app '\(name)'; deploy it with `mini deploy --app \(name)`")
        }
        return app
    }
}

extension Parameters {
    /// The `{app}` path parameter, validated.
    func appName() throws -> AppName {
        try AppName.fromRequest(try require("app"))
    }

    /// The `{id}` path parameter of a job.
    func jobID() throws -> JobID {
        guard let id = JobID(try require("id")), id > 0 else {
            throw APIError.badRequest("job ids are positive integers; list jobs with `mini jobs`")
        }
        return id
    }
}

/// Answers `value` as JSON with `status`.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONEncoder.mini.encode(value)
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Turns queue errors into API errors.
func mapQueueError<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as QueueError where error.isNotFound {
        throw APIError.notFound(error.description)
    } catch let error as QueueError {
        throw APIError.conflict(error.description)
    }
}
