import AsyncHTTPClient
import Docker
import Foundation
import Logging
import MiniCore
import Queue
import ServiceLifecycle
import Store
import Synchronization

/// Makes the engine match the store, on start and every few seconds: an instance whose
/// container is missing or dead is recreated on its recorded port (with backoff; one that
/// keeps dying is marked `crashed`), one the engine is restarting is `crashed` until it
/// answers again, containers with mini labels that no instance wants are removed, and only
/// running instances that answer are routed. One-off containers (`mini run`) that lost their
/// run are removed too. The instances and containers a running job makes are left to its
/// worker, and every write is conditional on the row being as it was read, so a pass that
/// read before a worker's publish never undoes it.
public struct Reconciler: Service {
    let apps: AppStore
    let queue: JobQueue
    let docker: DockerClient
    let httpClient: HTTPClient
    let interval: Duration
    /// How long a worker may take to drain old instances (its drain timeout plus the stop
    /// grace period, with room to spare; it stops them all at once) before the reconciler
    /// removes them itself.
    let abandonedDrainAfter: Duration
    let logger: Logger
    private let backoff = RecreateBackoff()
    private var installation: Installation { queue.database.installation }
    /// The one-off containers the API of this process runs: every other one-off container
    /// is removed.
    let oneOffRuns: OneOffRuns

    public init(
        queue: JobQueue, docker: DockerClient, httpClient: HTTPClient = .instanceProbes,
        interval: Duration = .seconds(2), abandonedDrainAfter: Duration = .seconds(70),
        oneOffRuns: OneOffRuns, logger: Logger
    ) {
        self.apps = AppStore(database: queue.database)
        self.queue = queue
        self.docker = docker
        self.httpClient = httpClient
        self.interval = interval
        self.abandonedDrainAfter = abandonedDrainAfter
        self.oneOffRuns = oneOffRuns
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await reconcile()
                } catch is CancellationError where Task.isCancelled {
                    return  // a graceful shutdown
                } catch let error as DockerError where error.code == .daemonUnreachable {
                    logger.debug("reconcile skipped: the Docker engine does not answer")
                } catch {
                    logger.warning("reconcile failed", metadata: ["error": "\(error)"])
                }
                // Cancelled by a graceful shutdown: the loop ends, and the service with it.
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass over every app.
    public func reconcile() async throws {
        var busy = Set(try await queue.jobs(state: .running, limit: 1000).map(\.app.rawValue))
        let listedAt = Date().timeIntervalSince1970
        let everything = try await docker.listContainers(all: true)
        // Another mini on the same engine (another data folder) has containers of its own.
        let allApps = try await apps.apps()
        let appNames = Set(allApps.map(\.name))
        await removeFinishedOneOffs(
            everything.filter {
                $0.labels[ContainerLabel.oneOff] != nil && installation.owns($0.labels, apps: appNames)
            })
        let containers = everything.filter { $0.labels[ContainerLabel.app] != nil && installation.mayOwn($0.labels) }
        let byName = Dictionary(containers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var wanted = Set<String>()
        for app in allApps {
            let name = try AppName(app.name)
            // Asked again for each app: the probes of the apps before it can take seconds, and
            // a job claimed meanwhile works on the app's instances.
            if !busy.contains(app.name), try await !queue.jobs(app: name, state: .running, limit: 1).isEmpty {
                busy.insert(app.name)
            }
            for instance in try await apps.instances(of: name) {
                wanted.insert(instance.name)
                // Recorded after the containers were listed: the listing cannot tell its state.
                guard instance.createdAt < listedAt else { continue }
                // While a job works on the app, its own instances are the job's to start or
                // remove; those of the release that serves are still repaired (a build can
                // take minutes). The job moves them to draining when it publishes, which the
                // conditional writes here respect.
                if busy.contains(app.name), instance.release != app.currentRelease || instance.state == .draining {
                    continue
                }
                do {
                    try await reconcile(instance, app: app, container: byName[instance.name])
                } catch let error as DockerError where error.code != .daemonUnreachable {
                    // One instance the engine cannot recreate (its image was removed, its port
                    // taken) does not hold back the rest of the pass.
                    logger.warning(
                        "could not repair an instance", metadata: ["instance": "\(instance.name)", "error": "\(error)"])
                }
            }
        }
        await finishRemovals()
        for container in containers
        where !wanted.contains(container.name) && installation.owns(container.labels, apps: appNames) {
            let app = container.labels[ContainerLabel.app] ?? ""
            guard !busy.contains(app), Date().timeIntervalSince(container.created) > 30 else { continue }
            logger.info("removing a container no release wants", metadata: ["container": "\(container.name)"])
            try? await docker.removeContainer(container.id, force: true, ignoreMissing: true)
        }
    }

    /// Removes the containers and images of apps destroyed at least 10 s ago (their destroy
    /// has had its time) that may still have some: the process that destroyed one died before
    /// it removed them all (the rows, and with them the app's name, were gone by then). An app
    /// made again under the name keeps its instances and the tags of its releases; the rest
    /// goes once no job of it runs or waits (a job may be building a tag or starting one).
    /// Only tags that still name the image listed. Tried at most 3 times in 2 minutes per
    /// app, so an engine that keeps refusing does not slow every pass down.
    private func finishRemovals() async {
        let pending: [(app: AppName, requestedAt: Double)]
        do {
            pending = try await apps.pendingRemovals(olderThan: .seconds(10))
        } catch {
            logger.warning("cannot read the destroyed apps", metadata: ["error": "\(error)"])
            return
        }
        for (app, requestedAt) in pending {
            do {
                guard try await !queue.hasJob(app: app), backoff.mayRetry("destroyed \(app)") else { continue }
                let resources = try await docker.resources(ofApp: app.rawValue)
                // Asked after the listing: a release made since keeps its tag, an instance its
                // container. One-off runs are the one-off sweep's (a new app's may run).
                guard try await !queue.hasJob(app: app) else { continue }
                let kept = Set(try await apps.releases(of: app).map { "mini/\(app):v\($0.version)" })
                let instances = Set(try await apps.instances(of: app).map(\.name))
                if !resources.containers.isEmpty || !resources.images.isEmpty {
                    logger.info(
                        "removing what is left of a destroyed app",
                        metadata: [
                            "app": "\(app)", "containers": "\(resources.containers.count)",
                            "images": "\(resources.images.count)",
                        ])
                }
                let complete = try await docker.remove(
                    resources, ofApp: app.rawValue, installation: installation,
                    sparing: { instances.contains($0.name) || $0.labels[ContainerLabel.oneOff] != nil },
                    keepingTags: kept, logger: logger)
                guard complete else { continue }
                try await apps.forgetRemoval(of: app, requestedAt: requestedAt)
            } catch {
                logger.warning(
                    "could not remove a destroyed app's leftovers", metadata: ["app": "\(app)", "error": "\(error)"])
            }
        }
    }

    /// Removes the one-off containers whose run is over. The API removes each when its
    /// command ends or its client goes; left are those of an earlier process and those whose
    /// removal failed.
    private func removeFinishedOneOffs(_ containers: [ContainerSummary]) async {
        for container in containers {
            let ours = container.labels[ContainerLabel.oneOffOwner] == oneOffRuns.owner
            guard !ours || !oneOffRuns.isLive(container.name) else { continue }
            logger.info("removing a finished one-off container", metadata: ["container": "\(container.name)"])
            try? await docker.removeContainer(container.id, force: true, ignoreMissing: true)
        }
    }

    private func reconcile(_ instance: InstanceRecord, app: AppRecord, container: ContainerSummary?) async throws {
        switch instance.state {
        case .draining:
            // Its worker drains it (waiting for requests in flight), unless it stopped before
            // it finished: then the instance is long past its drain.
            guard isAbandoned(since: instance.drainingSince ?? instance.createdAt) else { return }
            try await docker.removeContainer(instance.containerId ?? instance.name, force: true, ignoreMissing: true)
            try await apps.removeInstance(instance)
        case .serving, .starting, .crashed:
            guard instance.release == app.currentRelease else {
                // Started by an attempt that ended without publishing its release (its worker
                // died): never health-checked to the end, so never promoted or routed; removed.
                guard isAbandoned(since: instance.createdAt) else { return }
                logger.info(
                    "removing an instance of an unpublished release", metadata: ["instance": "\(instance.name)"])
                try await docker.removeContainer(
                    instance.containerId ?? instance.name, force: true, ignoreMissing: true)
                try await apps.removeInstance(instance)
                return
            }
            switch container?.state {
            case .running:
                if instance.state != .serving, await answers(port: instance.port),
                    try await apps.setState(of: instance, to: .serving)
                {
                    backoff.reset(instance.name)
                }
            case .restarting:
                // Its process died and the engine restarts it (with a growing delay): out of the
                // routes until it answers again, marked as crashing meanwhile.
                if instance.state != .crashed, try await apps.setState(of: instance, to: .crashed) {
                    logger.warning(
                        "instance crashed; the engine restarts it", metadata: ["instance": "\(instance.name)"])
                }
            default:
                try await replaceLost(instance, app: app)
            }
        }
    }

    /// Recreates an instance of the current release whose container is gone or stopped: out
    /// of the routes at once, recreated on its port unless it keeps dying.
    private func replaceLost(_ instance: InstanceRecord, app: AppRecord) async throws {
        var instance = instance
        if instance.state == .serving {
            guard try await apps.setState(of: instance, to: .starting) else { return }
            instance.state = .starting
        }
        guard backoff.mayRetry(instance.name) else {
            if instance.state != .crashed, try await apps.setState(of: instance, to: .crashed) {
                logger.warning("instance keeps dying; marked crashed", metadata: ["instance": "\(instance.name)"])
            }
            return
        }
        try await recreate(instance, app: app)
    }

    /// Whether a state that began at `since` (seconds since 1970) is older than any worker
    /// still working on it would let it get.
    private func isAbandoned(since: Double) -> Bool {
        Date().timeIntervalSince1970 - since > Double(abandonedDrainAfter.components.seconds)
    }

    private func recreate(_ instance: InstanceRecord, app: AppRecord) async throws {
        guard
            let release = try await apps.releases(of: try AppName(app.name)).first(where: {
                $0.version == instance.release
            }),
            let index = Int(instance.name.split(separator: "-").last ?? "")
        else {
            try await apps.removeInstance(instance)
            return
        }
        logger.info(
            "recreating a lost instance", metadata: ["instance": "\(instance.name)", "port": "\(instance.port)"])
        let spec = InstanceSpec.container(
            app: app.name, version: release.version, index: index, image: release.image,
            containerPort: release.containerPort, environment: release.environment, hostPort: instance.port,
            limits: release.limits, installation: installation
        )
        guard try await docker.removeLeftover(named: spec.name, of: installation) else {
            if instance.state != .crashed, try await apps.setState(of: instance, to: .crashed) {
                logger.warning(
                    "cannot recreate a lost instance: another mini on this Docker engine has a container of its name",
                    metadata: ["instance": "\(instance.name)"])
            }
            return
        }
        let id = try await docker.createContainer(spec)
        guard try await apps.setContainer(of: instance, to: id) else {
            // A worker took the instance over meanwhile (a deploy began, or drains it).
            logger.info(
                "instance changed while recreated; its new container goes", metadata: ["instance": "\(instance.name)"])
            try? await docker.removeContainer(id, force: true, ignoreMissing: true)
            return
        }
        try await docker.startContainer(id)
    }

    /// Whether the instance answers HTTP at all (any status): the app is up.
    private func answers(port: Int) async -> Bool {
        (try? await httpClient.probe(port: port, path: "/", timeout: .seconds(2))) != nil
    }
}

/// Limits how often one instance is recreated: at most 3 times in 2 minutes, then not
/// again until the window has passed.
final class RecreateBackoff: Sendable {
    private let attempts = Mutex<[String: [ContinuousClock.Instant]]>([:])
    private let limit = 3
    private let window = Duration.seconds(120)

    func mayRetry(_ name: String) -> Bool {
        attempts.withLock { attempts in
            let now = ContinuousClock.now
            // Instances not recreated within the window are forgotten (removed ones too).
            attempts = attempts.filter { _, times in times.contains { now - $0 < window } }
            let recent = (attempts[name] ?? []).filter { now - $0 < window }
            guard recent.count < limit else {
                attempts[name] = recent
                return false
            }
            attempts[name] = recent + [now]
            return true
        }
    }

    func reset(_ name: String) {
        attempts.withLock { _ = $0.removeValue(forKey: name) }
    }
}
