import Docker
import Foundation
import Hummingbird
import MiniCore
import Queue
import Store

/// The app routes: list, create, show, releases, the health check path, and the changes that
/// make a new release (env, scale, limits, rollback, restart), each queued as a `release` job.
struct AppRoutes {
    let configuration: APIConfiguration
    let apps: AppStore
    let queue: JobQueue
    /// Asked for the machine's CPU count when a CPU limit is set.
    let docker: DockerClient
    let foreignApps: ForeignAppCheck

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("apps", use: list)
        group.post("apps", use: create)
        group.get("apps/:app", use: show)
        group.get("apps/:app/releases", use: releases)
        group.get("apps/:app/env", use: environment)
        group.patch("apps/:app/env", use: patchEnvironment)
        group.put("apps/:app/scale", use: scale)
        group.put("apps/:app/limits", use: limits)
        group.put("apps/:app/health", use: health)
        group.put("apps/:app/release-command", use: releaseCommand)
        group.put("apps/:app/maintenance", use: maintenance)
        group.post("apps/:app/rollback", use: rollback)
        group.post("apps/:app/restart", use: restart)
    }

    @Sendable func list(request: Request, context: MiniRequestContext) async throws -> Response {
        var infos: [AppInfo] = []
        let access = context.appAccess
        for app in try await apps.apps() where access.allows(try AppName(app.name)) {
            infos.append(try await info(app))
        }
        return try jsonResponse(AppList(apps: infos))
    }

    /// Creates an app without deploying it, as `heroku create` does: its env, scale and
    /// limits can then be set before the first deploy, which uses them.
    @Sendable func create(request: Request, context: MiniRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(CreateAppRequest.self, context: context)
        let name = try AppName.fromRequest(body.name)
        try context.requireAccess(to: name)
        try await foreignApps.refuseIfTaken(name)
        guard try await apps.createApp(name) else {
            throw APIError.conflict("\(name) exists already; deploy to it with mini deploy --app \(name)")
        }
        let app = try await apps.existingApp(name)
        return try await jsonResponse(try info(app), status: .created)
    }

    @Sendable func show(request: Request, context: MiniRequestContext) async throws -> Response {
        try await jsonResponse(try info(try existingApp(context)))
    }

    @Sendable func releases(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let name = try AppName(app.name)
        // One listing of the engine's images says which releases a rollback can still reach.
        let images = try? await Set(docker.listImages(all: true).map(\.id))
        let list = try await apps.releases(of: name).map { release in
            ReleaseInfo(
                app: name, version: release.version, image: release.image, job: release.jobId,
                description: release.description, instances: release.instances,
                envKeys: release.environment.keys.sorted(), current: release.version == app.currentRelease,
                createdAt: Date(timeIntervalSince1970: release.createdAt), imageKept: images?.contains(release.image),
                createdBy: release.createdBy
            )
        }
        return try jsonResponse(ReleaseList(releases: list))
    }

    @Sendable func environment(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try await AppName(try existingApp(context).name)
        return try await jsonResponse(EnvironmentInfo(env: try apps.environment(of: name)))
    }

    @Sendable func patchEnvironment(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let patch = try await request.decodeJSON(EnvironmentPatch.self, context: context)
        try EnvironmentKey.requireValid(patch.set)
        try EnvironmentKey.requireValid(patch.unset)
        guard !patch.set.isEmpty || !patch.unset.isEmpty else {
            throw APIError.badRequest("nothing to change; give KEY=VALUE pairs to set or KEYs to unset")
        }
        if let key = Set(patch.set.keys).intersection(patch.unset).min() {
            throw APIError.badRequest("\(key) is both set and unset: give it in one of them")
        }
        let name = try AppName(app.name)
        var after = try await apps.environment(of: name).merging(patch.set) { $1 }
        for key in patch.unset { after[key] = nil }
        try EnvironmentKey.requireFits(after)
        let changed = try await apps.updateEnvironment(of: name, set: patch.set, unset: patch.unset)
        var parts: [String] = []
        if !patch.set.isEmpty { parts.append("env set " + patch.set.keys.sorted().joined(separator: " ")) }
        if !patch.unset.isEmpty { parts.append("env unset " + patch.unset.sorted().joined(separator: " ")) }
        let (job, released) = try await releaseIfChanged(
            name, storeChanged: changed, ReleaseChange(description: parts.joined(separator: ", ")),
            requestedBy: context.tokenName)
        return try await jsonResponse(
            EnvironmentInfo(env: try apps.environment(of: name), job: job, changed: released),
            status: job == nil ? .ok : .accepted)
    }

    @Sendable func scale(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let body = try await request.decodeJSON(ScaleRequest.self, context: context)
        let allowed = ScaleRequest.allowedInstances
        guard allowed.contains(body.instances) else {
            throw APIError.badRequest("instances must be between \(allowed.lowerBound) and \(allowed.upperBound)")
        }
        let name = try AppName(app.name)
        let changed = try await apps.setInstances(of: name, to: body.instances)
        let (job, released) = try await releaseIfChanged(
            name, storeChanged: changed, ReleaseChange(description: "scale to \(body.instances)"),
            requestedBy: context.tokenName)
        return try jsonResponse(ChangeAccepted(job: job, changed: released), status: job == nil ? .ok : .accepted)
    }

    /// Changes the limits the body names; the others keep their values.
    @Sendable func limits(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let body = try await request.decodeJSON(LimitsChange.self, context: context)
        guard body.memoryBytes != nil || body.cpus != nil else {
            throw APIError.badRequest("name a limit: memoryBytes or cpus (null removes it)")
        }
        if let problem = body.asked.problem { throw APIError.badRequest(problem) }
        // A memory limit kept from a bigger server limits nothing but harms nothing; CPUs
        // beyond the machine fail every start, so they are always checked, kept ones too.
        let stored = Limits(memoryBytes: app.memoryBytes, nanoCPUs: app.nanoCpus)
        let memory = body.memoryBytes?.newValue
        let cpus = body.cpus.map(\.newValue) ?? stored.cpus
        let new = Limits(memoryBytes: memory == stored.memoryBytes ? nil : memory, cpus: cpus)
        if new.cpus != nil || new.memoryBytes != nil, let machine = try? await docker.machine() {
            try Self.check(new, fits: machine)
        }
        let name = try AppName(app.name)
        guard
            let result = try await apps.changeLimits(
                of: name, memoryBytes: body.memoryBytes,
                nanoCPUs: body.cpus?.map(Limits.nanoCPUs))
        else { throw APIError.notFound("no app named \(name)") }
        let now = Limits(memoryBytes: result.memoryBytes, nanoCPUs: result.nanoCPUs)
        let (job, released) = try await releaseIfChanged(
            name, storeChanged: result.changed, ReleaseChange(description: "limits \(Self.describe(now))"),
            requestedBy: context.tokenName)
        return try jsonResponse(ChangeAccepted(job: job, changed: released), status: job == nil ? .ok : .accepted)
    }

    /// Refuses limits beyond the server. The engine refuses more CPUs than its machine has, at
    /// every start of the app; more memory than it has is no limit, and most likely a typo
    /// (`512g` for `512m`). When the engine cannot be asked (or says 0), CPUs are checked by
    /// the release.
    private static func check(_ limits: Limits, fits machine: DockerClient.Machine) throws {
        if let cpus = limits.cpus, machine.cpus > 0, cpus > Double(machine.cpus) {
            throw APIError.badRequest(
                "this server has \(machine.cpus) CPU\(machine.cpus == 1 ? "" : "s"): give --cpus \(machine.cpus) or less"
            )
        }
        if let memory = limits.memoryBytes, machine.memoryBytes > 0, memory > machine.memoryBytes {
            throw APIError.badRequest(
                "this server has \(ByteSize.format(machine.memoryBytes, rounding: .down)) of memory: give --memory \(ByteSize.format(machine.memoryBytes, rounding: .down)) or less"
            )
        }
    }

    /// Sets the health check path; it applies from the next release on (a deploy, restart or
    /// settings change), so it makes none itself.
    @Sendable func health(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let body = try await request.decodeJSON(HealthCheck.self, context: context)
        if let path = body.path, let problem = HealthCheck.problem(with: path) {
            throw APIError.badRequest(problem)
        }
        try await apps.setHealthPath(of: try AppName(app.name), to: body.path)
        return try jsonResponse(body)
    }

    /// Sets the command each deploy runs before its release takes traffic; it applies from
    /// the next deploy on.
    @Sendable func releaseCommand(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let body = try await request.decodeJSON(ReleaseCommand.self, context: context)
        if let command = body.command, !CommandArguments.nameAProgram(command) {
            throw APIError.badRequest("give the command to run, such as [\"rake\", \"db:migrate\"], or null for none")
        }
        if let problem = body.command.flatMap(CommandArguments.problem(with:)) { throw APIError.badRequest(problem) }
        try await apps.setReleaseCommand(of: try AppName(app.name), to: body.command)
        return try jsonResponse(body)
    }

    @Sendable func rollback(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        // No body: the release before the current one. A body that is not a rollback request
        // is an error, never read as "no body".
        var request = request
        let bytes = try await request.collectBody(upTo: 64 * 1024)
        let body =
            bytes.readableBytes == 0
            ? RollbackRequest() : try await request.decodeJSON(RollbackRequest.self, context: context)
        guard let current = app.currentRelease else {
            throw APIError.conflict("\(app.name) has no release to roll back from; deploy it first")
        }
        let releases = try await apps.releases(of: try AppName(app.name))
        let versions = releases.map(\.version)
        let target = body.release ?? versions.first { $0 < current }
        guard let target, let source = releases.first(where: { $0.version == target }) else {
            let known = versions.map { "v\($0)" }.joined(separator: ", ")
            let missing = body.release.map { "\(app.name) has no release v\($0)" } ?? "no release to roll back to"
            throw APIError.notFound("\(missing); \(app.name) has \(known.isEmpty ? "none" : known)")
        }
        guard target != current else { throw APIError.conflict("v\(target) is already the current release") }
        // Refused now rather than by the job (which checks again): an engine that does not
        // answer leaves it to the job.
        do {
            _ = try await docker.inspectImage(source.image)
        } catch let error as DockerError where error.code == .notFound {
            throw APIError.conflict(
                "the image of v\(target) is no longer kept (mini keeps an app's newest \(ReleaseInfo.keptImages) "
                    + "images, marked in mini releases \(app.name)): roll back to a newer release, or deploy that code again"
            )
        } catch {
            // The engine did not answer: the job finds out, and says what is wrong with it.
        }
        let job = try await queue.enqueueRelease(
            app: try AppName(app.name),
            change: ReleaseChange(
                rollbackTo: target, description: "rollback to v\(target)",
                environmentAtRequest: try await apps.environment(of: try AppName(app.name))),
            requestedBy: context.tokenName
        )
        return try jsonResponse(ChangeAccepted(job: job), status: .accepted)
    }

    /// Replaces every instance with a fresh one of the current release, without downtime
    /// (new instances start, get healthy and take the routes before the old ones drain).
    @Sendable func restart(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        guard app.currentRelease != nil else {
            throw APIError.conflict("\(app.name) has no release to restart; deploy it first")
        }
        guard app.instances > 0 else {
            throw APIError.conflict(
                "\(app.name) runs no instances (scaled to 0), so there is nothing to restart; "
                    + "mini scale \(app.name) N starts N of them")
        }
        let job = try await queue.enqueueRelease(
            app: try AppName(app.name), change: .restart, requestedBy: context.tokenName)
        return try jsonResponse(ChangeAccepted(job: job), status: .accepted)
    }

    private func existingApp(_ context: MiniRequestContext) async throws -> AppRecord {
        try await apps.existingApp(try context.parameters.appName())
    }

    /// Queues a release job for a settings change unless the app already runs with the
    /// settings now saved (a change back after a failed one, a value it already has) and no
    /// job of the app, which read the settings when it started, is queued or running. Returns
    /// the job and whether the change changed anything.
    ///
    /// An app without a release gets a job only while its first deploy runs (that deploy read
    /// the settings when it started; the job releases them after it); otherwise the change
    /// waits for the first deploy, and the job is nil. The app is read here, after the change
    /// was stored, so that a deploy publishing meanwhile is seen either way.
    private func releaseIfChanged(
        _ name: AppName, storeChanged: Bool, _ change: ReleaseChange, requestedBy: String?
    ) async throws -> (job: JobInfo?, changed: Bool) {
        // The release and the running job as of one moment: a deploy that published and
        // ended in between is seen as one or the other.
        let (released, deploying, releaseQueued) = try await queue.database.read { db in
            (
                try AppRecord.fetchOne(db, key: name.rawValue)?.currentRelease != nil,
                try JobQueue.hasJob(app: name, in: [.running], db: db),
                try JobQueue.hasJob(app: name, in: [.queued], kind: .release, db: db)
            )
        }
        guard released else {
            // A change repeated while the release of the first waits is not live yet either:
            // it gets a job (which replaces the waiting one) to follow like the first.
            guard deploying, storeChanged || releaseQueued else { return (nil, storeChanged) }
            return (try await queue.enqueueRelease(app: name, change: change, requestedBy: requestedBy), true)
        }
        if try await !queue.hasJob(app: name), try await apps.settingsMatchCurrentRelease(of: name) {
            return (nil, false)
        }
        return (try await queue.enqueueRelease(app: name, change: change, requestedBy: requestedBy), true)
    }

    private static func describe(_ limits: Limits) -> String {
        let memory = limits.memoryBytes.map { "memory \(ByteSize.format($0))" } ?? "memory unlimited"
        let cpus = limits.cpus.map { "cpus \($0)" } ?? "cpus unlimited"
        return "\(memory), \(cpus)"
    }

    /// Turns maintenance mode on or off; the proxy applies it within 100 ms (its routes follow
    /// the store), without a release.
    @Sendable func maintenance(request: Request, context: MiniRequestContext) async throws -> Response {
        let app = try await existingApp(context)
        let body = try await request.decodeJSON(MaintenanceMode.self, context: context)
        try await apps.setMaintenance(of: try AppName(app.name), to: body.enabled)
        return try jsonResponse(body)
    }

    private func info(_ app: AppRecord) async throws -> AppInfo {
        let name = try AppName(app.name)
        let instances = try await apps.instances(of: name).map { instance in
            InstanceInfo(
                name: instance.name, release: instance.release, state: instance.state.rawValue,
                address: "\(instance.host):\(instance.port)"
            )
        }
        return AppInfo(
            name: name, url: configuration.url(of: app.name), release: app.currentRelease, scale: app.instances,
            instances: instances,
            limits: Limits(memoryBytes: app.memoryBytes, nanoCPUs: app.nanoCpus),
            healthPath: app.healthPath, releaseCommand: app.releaseCommand, maintenance: app.maintenance,
            createdAt: Date(timeIntervalSince1970: app.createdAt)
        )
    }
}
