import AsyncHTTPClient
import Docker
import Foundation
import GRDB
import Logging
import MiniCore
import Proxy
import Queue
import ServiceLifecycle
import Store

/// One deploy attempt: build the uploaded context, start the new release beside the old one,
/// wait until it is healthy, switch the routes, then drain and stop the old release.
///
/// Every write to the store is fenced by the job's lease; a failure leaves nothing of the new
/// release running, and the old release keeps serving.
struct DeployPipeline {
    let job: ClaimedJob
    let docker: DockerClient
    let httpClient: HTTPClient
    let queue: JobQueue
    let apps: AppStore
    let log: BuildLog
    let configuration: WorkerConfiguration
    let logger: Logger

    var app: AppName { job.info.app }
    var installation: Installation { queue.database.installation }

    /// What the new release runs.
    struct ReleasePlan {
        var version: Int
        var image: String
        var containerPort: Int
        /// The app's environment, without `PORT` (which mini sets).
        var environment: [String: String]
        var instances: Int
        var description: String
        /// A rollback's: the app's configured environment when the rollback was asked for.
        /// Publishing makes the release's environment the app's, keeping the changes made since.
        var environmentAtRequest: [String: String]?
        var healthPath: String?
        var limits: ResourceLimits
        /// Run before the instances start; deploys only.
        var releaseCommand: [String]?
    }

    /// A release that now serves, and the instances of the one before, to be retired.
    struct Released {
        var version: Int
        var draining: [InstanceRecord]
        /// Whether the job's success is recorded; if not, the worker records it when it
        /// reports the end (the job's end is decided from the publish on).
        var isRecorded: Bool
    }

    /// Runs the deploy up to the end of its job: the new release serves.
    func run() async throws -> Released {
        try await removeEarlierAttempts()
        if let unchanged = try await endIfAlreadyReleased() { return unchanged }
        let plan = try await job.info.kind == .deploy ? buildPlan() : releasePlan()
        if let command = plan.releaseCommand {
            do {
                try await runReleaseCommand(command, plan: plan)
            } catch {
                await remove([], tag: "mini/\(app):v\(plan.version)")
                throw error
            }
        }
        return try await roll(plan)
    }

    /// After the job: stops the previous release's instances once the proxy has no request in
    /// flight to them, and removes images beyond the kept ones. Runs outside the job's lease
    /// (the job has ended), so it is not cut short when the lease check sees the job gone.
    func retire(_ released: Released) async {
        await drain(released.draining)
        await removeOldImages()
    }

    /// Ends a settings change whose settings the current release already runs, without a new
    /// release (which would restart the app for nothing): a deploy that started after the
    /// change was saved carried it, or the settings were changed back since.
    private func endIfAlreadyReleased() async throws -> Released? {
        guard job.info.kind == .release, let change = job.change, change.isSettingsChange,
            try await apps.settingsMatchCurrentRelease(of: app), let current = try await apps.app(app)?.currentRelease
        else { return nil }
        try await log.append("-----> \(app) already runs these settings in v\(current): no new release")
        try await queue.complete(job.lease, release: current)
        return Released(version: current, draining: [], isRecorded: true)
    }

    /// Builds the uploaded context into the next release's image.
    private func buildPlan() async throws -> ReleasePlan {
        try await log.append("-----> Building \(app) (job \(job.info.id), attempt \(job.info.attempt))")
        let current = try await currentSettings()
        let tag = "mini/\(app):v\(current.version)"
        // An earlier attempt at this version may have left its image under the tag (its
        // worker died, or the engine did not answer its clean-up): building again would leave
        // that image nameless and never removed. An image a container still runs stays.
        try? await docker.removeImage(tag, force: false, ignoreMissing: true)
        let image = try await build(tag: tag)
        do {
            try await log.append("-----> Built \(tag) (\(image.prefix(19)))")
            return ReleasePlan(
                version: current.version, image: image,
                containerPort: try await containerPort(image: image),
                environment: current.environment, instances: current.record?.instances ?? 1,
                description: "deploy of job \(job.info.id)", environmentAtRequest: nil,
                healthPath: current.record?.healthPath, limits: current.record?.limits ?? ResourceLimits(),
                releaseCommand: current.record?.releaseCommand
            )
        } catch {
            await remove([], tag: tag)
            throw error
        }
    }

    /// Releases an existing image again: the current one with the app's settings, or the
    /// image and environment of an earlier release (a rollback).
    private func releasePlan() async throws -> ReleasePlan {
        let change = job.change ?? .restart
        let current = try await currentSettings()
        let sourceVersion = change.rollbackTo ?? current.record?.currentRelease
        guard let sourceVersion,
            let source = try await queue.database.read({ [app] db in
                try ReleaseRecord.fetchOne(db, key: ["app": app.rawValue, "version": sourceVersion])
            })
        else {
            // A settings change queued during a first deploy that failed: it stays saved.
            throw DeployFailure.permanent(
                "no release",
                change.rollbackTo.map { "\(app) has no release v\($0)" }
                    ?? "\(app) has no release yet (its first deploy did not succeed): the change is saved and "
                    + "applies at the next deploy"
            )
        }
        try await log.append(
            "-----> \(change.description): releasing the image of v\(sourceVersion) as v\(current.version)")
        let tag = "mini/\(app):v\(current.version)"
        // As in buildPlan: moving a tag an earlier attempt left would leave its image nameless.
        if let leftover = try? await docker.inspectImage(tag), leftover.id != source.image {
            try? await docker.removeImage(tag, force: false, ignoreMissing: true)
        }
        do {
            try await docker.tagImage(source.image, as: tag)
        } catch let error as DockerError where error.code == .notFound {
            throw DeployFailure.permanent(
                "image gone",
                "the image of v\(sourceVersion) is no longer kept (mini keeps an app's newest "
                    + "\(Self.keptReleaseImages) images): roll back to a newer release, or deploy that code again"
            )
        }
        return ReleasePlan(
            version: current.version, image: source.image, containerPort: source.containerPort,
            environment: change.rollbackTo == nil ? current.environment : source.environment,
            instances: current.record?.instances ?? 1, description: change.description,
            // A rollback queued before this change was stored reads the environment now.
            environmentAtRequest: change.rollbackTo == nil ? nil : change.environmentAtRequest ?? current.environment,
            healthPath: current.record?.healthPath,
            limits: current.record?.limits ?? ResourceLimits()
        )
    }

    private func currentSettings() async throws -> (version: Int, record: AppRecord?, environment: [String: String]) {
        try await queue.database.read { [app] db in
            (
                version:
                    (try Int.fetchOne(
                        db, sql: "SELECT MAX(version) FROM releases WHERE app = ?", arguments: [app.rawValue]) ?? 0)
                    + 1,
                record: try AppRecord.fetchOne(db, key: app.rawValue),
                environment: try AppStore.environment(of: app, in: db)
            )
        }
    }

    /// Starts the plan's instances beside the old ones, waits until all are healthy,
    /// publishes the release and ends the job.
    private func roll(_ plan: ReleasePlan) async throws -> Released {
        var started: [InstanceRecord] = []
        let draining: [InstanceRecord]
        do {
            try await log.append(
                "-----> Starting v\(plan.version): \(plan.instances) instance(s), app port \(plan.containerPort)")
            for index in 0..<plan.instances {
                try await startInstance(index: index + 1, plan: plan, started: &started)
            }
            for instance in started {
                try await waitUntilHealthy(instance, path: plan.healthPath)
            }
            try await log.append(
                "-----> Releasing v\(plan.version): routing traffic to it, then stopping the old instances")
            // From this transaction on, the job can only end `succeeded` (`JobQueue.publish`).
            draining = try await queue.publish(job.lease, release: plan.version) { [app, job] db in
                _ = try AppStore.createRelease(
                    app: app, image: plan.image, containerPort: plan.containerPort, environment: plan.environment,
                    instances: plan.instances,
                    limits: plan.limits,
                    job: job.info.id, description: plan.description, in: db
                )
                if let snapshot = plan.environmentAtRequest {
                    try AppStore.restoreEnvironment(
                        of: app, to: plan.environment, keepingChangesSince: snapshot, in: db)
                }
                return try AppStore.publish(app: app, release: plan.version, in: db)
            }
        } catch {
            // Nothing was published (a refused publish wrote nothing): the old release serves
            // on, and what this attempt made goes.
            await remove(started, tag: "mini/\(app):v\(plan.version)")
            throw error
        }
        // The job ends only once the new release is what clients reach, so that `mini deploy`
        // returning 0 means the new release serves. It has succeeded from the publish on: a
        // shutdown or timeout now does not cut this short, so the worker still retires the
        // old release.
        let isRecorded = await Task { [self, started, draining] in
            await waitUntilProxyRoutes(to: started, notTo: draining)
            do {
                try await queue.complete(job.lease, release: plan.version)
                return true
            } catch {
                logger.warning("could not record the job's success yet", metadata: ["error": "\(error)"])
                return false
            }
        }.value
        logger.info("released", metadata: ["app": "\(app)", "release": "v\(plan.version)"])
        return Released(version: plan.version, draining: draining, isRecorded: isRecorded)
    }

    private func build(tag: String) async throws -> String {
        do {
            // No image labels: the legacy builder adds them as a `LABEL` step of its own, one
            // container and commit more (~0.1 s a deploy); mini finds images by their name.
            let image = try await docker.build(
                contextFile: job.uploadPath, tag: tag, dockerfile: job.info.dockerfile,
                memoryLimit: configuration.buildMemoryLimit
            ) { lines in
                try await log.append(lines: lines)
            }
            return image
        } catch let error as DockerError where error.code == .buildFailed {
            throw DeployFailure.permanent("build failed", error.message)
        }
    }

    /// The port the app listens on: the image's lowest exposed TCP port, else `PORT` from
    /// the image's environment, else 8080.
    private func containerPort(image: String) async throws -> Int {
        let info = try await docker.inspectImage(image)
        if let exposed = info.exposedTCPPorts.min() { return exposed }
        let imagePort = info.env.first { $0.hasPrefix("PORT=") }.flatMap { Int($0.dropFirst("PORT=".count)) }
        if let imagePort, (1...65535).contains(imagePort) { return imagePort }
        return 8080
    }

    /// Removes what attempts at the app's next release left when their worker died: their
    /// instances, started but never published (they did not pass this attempt's health check,
    /// may run another job's image, and publishing makes every instance of the version serve;
    /// the version has no release yet, so nothing of it serves), and their release commands.
    /// First, so that no container of theirs holds the image tag this attempt builds or moves.
    /// - Throws: ``DeployFailure`` when another installation on the engine has an app of this
    ///   name.
    private func removeEarlierAttempts() async throws {
        let containers = try await docker.listContainers(labels: [ContainerLabel.app: app.rawValue], all: true)
        // Nor may it build over the image tags of another installation's app of the same name.
        if let foreign = containers.first(where: { !installation.mayOwn($0.labels) }) {
            throw DeployFailure.permanent(
                "name taken",
                "another mini on this Docker engine runs an app named \(app) (container \(foreign.name)); "
                    + "deploy it under another name")
        }
        try await stopEarlierReleaseCommands(among: containers)
        let version = try await currentSettings().version
        let leftovers = try await queue.database.read { [app] db in
            try InstanceRecord.filter(Column("app") == app.rawValue && Column("release") == version).fetchAll(db)
        }
        guard !leftovers.isEmpty else { return }
        try await log.append("-----> Removing \(leftovers.count) instance(s) of v\(version) an earlier attempt left")
        for instance in leftovers {
            try await docker.removeContainer(instance.containerId ?? instance.name, force: true, ignoreMissing: true)
        }
        try await queue.fenced(job.lease) { [app] db in
            try db.execute(
                sql: "DELETE FROM instances WHERE app = ? AND release = ?", arguments: [app.rawValue, version])
        }
    }

    /// Creates, records and starts an instance, adding it to `started` before it starts, so
    /// that a failure or a cancellation from here on removes it too. A port another worker
    /// took since it was chosen ("port is already allocated") is swapped for another.
    private func startInstance(index: Int, plan: ReleasePlan, started: inout [InstanceRecord]) async throws {
        let attempts = 3
        for attempt in 1...attempts {
            let instance = try await createInstance(index: index, plan: plan)
            started.append(instance)
            do {
                return try await Self.refusalIsTheApps {
                    try await docker.startContainer(instance.containerId ?? instance.name)
                }
            } catch let error as DockerError where attempt < attempts && Self.isPortTaken(error) {
                started.removeLast()
                await remove([instance], tag: nil)
                try await log.append("-----> Port \(instance.port) was taken meanwhile; trying another")
            }
        }
    }

    /// Runs a container call, making the engine's refusals of what the app asks (an image
    /// without a command, a program that is not in it, more CPUs than the machine has)
    /// permanent failures that say what to change: every attempt would get the same answer.
    /// Other refusals stay as they were: the engine also answers 400 for failures of its own
    /// (a cgroup or runc race), which a retry may get past.
    static func refusalIsTheApps<T>(_ call: () async throws -> T) async throws -> T {
        do {
            return try await call()
        } catch let error as DockerError where error.status == 400 {
            guard let hint = appRefusalHint(error.message) else { throw error }
            throw DeployFailure.permanent(
                "container refused", "the Docker engine refused the app's container (\(error.message)): \(hint)")
        }
    }

    /// What to change when the engine's message says the app asked for something it cannot
    /// run; nil for other messages.
    static func appRefusalHint(_ message: String) -> String? {
        if message.contains("No command specified") {
            return "the image has no CMD or ENTRYPOINT: add one to the Dockerfile"
        }
        if message.contains("executable file not found") || message.contains("exec format error") {
            return "the command is not a program in the image: check CMD and ENTRYPOINT (or the command given)"
        }
        if message.contains("Range of CPUs") {
            return "lower the app's CPU limit: mini limits set APP --cpus N (or none)"
        }
        if message.contains("Minimum memory limit") {
            return "raise the app's memory limit: mini limits set APP --memory 64m (or none)"
        }
        return nil
    }

    /// Whether the engine could not publish a container because its host port is in use.
    static func isPortTaken(_ error: DockerError) -> Bool {
        error.message.contains("port is already allocated") || error.message.contains("address already in use")
    }

    /// Creates an instance's container and records it, `starting`.
    private func createInstance(index: Int, plan: ReleasePlan) async throws -> InstanceRecord {
        let hostPort = try await PortAllocator.freeLoopbackPort(
            in: configuration.instancePorts, excluding: try apps.recordedPorts())
        let spec = InstanceSpec.container(
            app: app.rawValue, version: plan.version, index: index, image: plan.image,
            containerPort: plan.containerPort, environment: plan.environment, hostPort: hostPort, limits: plan.limits,
            installation: installation
        )
        // A retried attempt may find the container of an earlier one.
        guard try await docker.removeLeftover(named: spec.name, of: installation) else {
            throw DeployFailure.permanent(
                "name taken",
                "a container named \(spec.name) belongs to another mini on this Docker engine; "
                    + "deploy the app under another name")
        }
        let id = try await Self.refusalIsTheApps { try await docker.createContainer(spec) }
        let instance = InstanceRecord(
            name: spec.name, app: app.rawValue, release: plan.version, containerId: id, port: hostPort, state: .starting
        )
        do {
            try await queue.fenced(job.lease) { db in
                // A retried attempt may also find the record of an earlier one.
                try db.execute(sql: "DELETE FROM instances WHERE name = ?", arguments: [instance.name])
                try instance.insert(db)
            }
        } catch {
            // Outside this task, which a cancel may have cancelled along with the fence.
            await Task { [docker] in try? await docker.removeContainer(id, force: true, ignoreMissing: true) }.value
            throw error
        }
        return instance
    }

    private func waitUntilHealthy(_ instance: InstanceRecord, path: String?) async throws {
        let gate = HealthGate(docker: docker, httpClient: httpClient, path: path, timeout: configuration.healthTimeout)
        let outcome = try await gate.wait(containerID: instance.containerId ?? instance.name, port: instance.port)
        let problem: String
        switch outcome {
        case .healthy:
            try await log.append("-----> \(instance.name) is healthy on 127.0.0.1:\(instance.port)")
            return
        case .exited(Self.terminatedExitCode):
            // SIGTERM from outside the app: the Docker engine stopping (it stops every
            // container), or a docker stop. Not the app's failure: the job is tried again.
            throw DeployFailure.transient(
                "stopped from outside",
                "\(instance.name) was stopped by a SIGTERM from outside (the Docker engine stopping, or docker stop) "
                    + "before it got healthy")
        case .exited(let code):
            problem = "\(instance.name) exited with code \(code) before it got healthy"
        case .timedOut(let lastProblem):
            problem = "\(instance.name) did not get healthy within \(configuration.healthTimeout) (\(lastProblem))"
        }
        let lines = await recentLogLines(of: instance.containerId ?? instance.name)
        try await log.append("-----> \(problem)" + (lines.isEmpty ? "; it printed nothing" : "; its last log lines:"))
        for line in lines {
            try await log.append("       \(line)")
        }
        throw DeployFailure.permanent("unhealthy", problem)
    }

    /// The exit code of a process SIGTERM ended (128 + 15), as tini passes it on.
    static let terminatedExitCode = 143

    /// The last lines an instance printed, for the build log of a release that failed.
    private func recentLogLines(of container: String) async -> [String] {
        var lines: [String] = []
        do {
            for try await line in docker.containerLogs(container, follow: false, tail: 20) {
                lines.append(line.text)
            }
        } catch {
            lines.append("(its log could not be read: \(error))")
        }
        return lines
    }

    /// Removes the tags of the releases whose image is not one of the app's newest
    /// ``keptReleaseImages`` images; an image leaves the engine with its last tag. Counted in
    /// images, not releases: settings changes and rollbacks release an image again, and must
    /// not push the code before it out of reach of a rollback. The app's tags come from one
    /// listing of the engine's images, so a deploy makes few engine calls however long the
    /// app's history.
    private func removeOldImages() async {
        guard let releases = try? await apps.releases(of: app),
            let tagged = try? await docker.listImages(reference: "mini/\(app)")
        else { return }
        var kept: Set<String> = []
        for release in releases where kept.count < Self.keptReleaseImages {
            kept.insert(release.image)
        }
        let tags = Set(tagged.flatMap(\.tags))
        for release in releases where !kept.contains(release.image) {
            let tag = "mini/\(app):v\(release.version)"
            guard tags.contains(tag) else { continue }
            try? await docker.removeImage(tag, force: false, ignoreMissing: true)
        }
    }

    /// How many images per app are kept, with every release that runs one, for rollbacks.
    static let keptReleaseImages = ReleaseInfo.keptImages

    /// Stops and forgets instances of a failed attempt, and the image tag it made (the image
    /// goes with its last tag), whatever happened to the task (a cancelled job cleans up too).
    /// An instance whose container the engine did not remove (it was restarting) stays
    /// recorded, holding its port, until the next attempt or the reconciler (as part of a
    /// release never published) removes it: the engine would start it again on its own.
    func remove(_ instances: [InstanceRecord], tag: String?) async {
        let docker = docker
        let apps = apps
        await Task {
            for instance in instances {
                guard
                    (try? await docker.removeContainer(
                        instance.containerId ?? instance.name, force: true, ignoreMissing: true)) != nil
                else { continue }
                try? await apps.removeInstance(instance)
            }
            if let tag {
                try? await docker.removeImage(tag, force: false, ignoreMissing: true)
            }
        }.value
    }

    /// Stops old instances, all at once, once the proxy is done with them (or after the drain
    /// timeout); each gets SIGTERM, then SIGKILL after the stop grace period.
    private func drain(_ instances: [InstanceRecord]) async {
        await waitUntilProxyIsDone(with: instances)
        // In a task of its own: a worker that ends cancels its retirements, and the old
        // instances must stop all the same.
        await Task { [self] in
            await withDiscardingTaskGroup { group in
                for instance in instances {
                    group.addTask { await stop(instance) }
                }
            }
        }.value
    }

    private func stop(_ instance: InstanceRecord) async {
        let id = instance.containerId ?? instance.name
        do {
            do {
                try await docker.stopContainer(id, timeout: configuration.stopGraceSeconds)
            } catch let error as DockerError where error.code == .notFound {
                // Gone already (removed with dockerd, or by the reconciler): only forgotten.
            }
            // The next job's clean-up may be removing it at the same moment.
            try await DockerClient.toleratingConflict {
                try await docker.removeContainer(id, force: true, ignoreMissing: true)
            }
            try await apps.removeInstance(instance)
        } catch {
            logger.warning(
                "could not stop old instance", metadata: ["instance": "\(instance.name)", "error": "\(error)"])
        }
    }

    /// Asks the proxy on this VM until every event loop routes to the new instances and none
    /// to the old ones: usually some 10 ms after the publish. Waits the route propagation
    /// delay at most, and just that long without a local proxy to ask (a worker on another VM)
    /// or one that cannot say.
    private func waitUntilProxyRoutes(to new: [InstanceRecord], notTo old: [InstanceRecord]) async {
        let deadline = ContinuousClock.now + configuration.routePropagationDelay
        let (new, old) = (new.map(\.upstream), old.map(\.upstream))
        let routed = await askProxy(every: .milliseconds(10), until: deadline, about: "the new routes") { socket in
            guard try await ProxyControlClient.drainState(socketPath: socket, upstreams: new).isRouted else {
                return false
            }
            return try await ProxyControlClient.drainState(socketPath: socket, upstreams: old).stillRouted == 0
        }
        if routed != true {
            try? await Task.sleep(until: deadline)
        }
    }

    /// Asks the proxy on this VM until it routes nothing to `instances` and has no request in
    /// flight to them, up to the drain timeout or a graceful shutdown. Without a local proxy
    /// (a worker on another VM) there is nothing to ask, and the route propagation delay was
    /// the only wait.
    private func waitUntilProxyIsDone(with instances: [InstanceRecord]) async {
        let upstreams = instances.map(\.upstream)
        guard !upstreams.isEmpty else { return }
        let done = await askProxy(
            every: .milliseconds(100), until: .now + configuration.drainTimeout, about: "requests in flight"
        ) { socket in
            try await ProxyControlClient.drainState(socketPath: socket, upstreams: upstreams).isDone
        }
        if done == false {
            logger.warning("stopping old instances before the proxy was done with them (drain timeout or shutdown)")
        }
    }

    /// Asks the proxy on this VM (its control socket) every `interval` until `isSettled`
    /// says yes (true), `deadline`, a graceful shutdown or a cancellation comes (false); nil without a local
    /// proxy. A question it does not answer (it restarts) is asked again; the first of a run
    /// of such failures is logged.
    private func askProxy(
        every interval: Duration, until deadline: ContinuousClock.Instant, about topic: String,
        _ isSettled: (_ socket: String) async throws -> Bool
    ) async -> Bool? {
        let socket = configuration.dataDirectory.proxyControlSocketPath
        guard FileManager.default.fileExists(atPath: socket) else { return nil }
        var failing = false
        while ContinuousClock.now < deadline && !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if try await isSettled(socket) { return true }
                failing = false
            } catch {
                if !failing {
                    logger.warning("cannot ask the proxy about \(topic)", metadata: ["error": "\(error)"])
                }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
        return false
    }
}

extension InstanceRecord {
    /// Where the proxy reaches the instance.
    var upstream: Upstream { Upstream(host: host, port: port) }
}
