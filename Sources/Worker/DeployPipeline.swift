import AsyncHTTPClient
import Docker
import Foundation
import GRDB
import Logging
import MiniCore
import Queue
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

    private var app: AppName { job.info.app }

    /// Runs the deploy and returns the new release's version.
    func run() async throws -> Int {
        try log.append("-----> Building \(app) (job \(job.info.id), attempt \(job.info.attempt))")
        let settings = try queue.database.read { [app] db in
            (
                version: (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM releases WHERE app = ?", arguments: [app.rawValue]) ?? 0) + 1,
                record: try AppRecord.fetchOne(db, key: app.rawValue),
                environment: try AppStore.environment(of: app, in: db)
            )
        }
        let version = settings.version
        let image = try await build(tag: "mini/\(app):v\(version)")
        let containerPort = try await containerPort(image: image, environment: settings.environment)
        var environment = settings.environment
        environment["PORT"] = String(containerPort)
        let count = max(settings.record?.instances ?? 1, 1)
        try log.append("-----> Starting v\(version): \(count) instance(s), app port \(containerPort)")

        var started: [InstanceRecord] = []
        do {
            for index in 1...count {
                let instance = try await startInstance(
                    index: index, version: version, image: image, containerPort: containerPort,
                    environment: environment, limits: settings.record
                )
                started.append(instance)
            }
            for instance in started {
                try await waitUntilHealthy(instance, path: settings.record?.healthPath)
            }
        } catch {
            await remove(started)
            try? await docker.removeImage("mini/\(app):v\(version)", force: false)
            throw error
        }

        let finalEnvironment = environment
        let draining = try queue.complete(job.lease, release: version) { [app, job] db in
            _ = try AppStore.createRelease(
                app: app, image: image, containerPort: containerPort, environment: finalEnvironment,
                instances: count, job: job.info.id, description: "deploy of job \(job.info.id)", in: db
            )
            return try AppStore.publish(app: app, release: version, in: db)
        }
        logger.info("released", metadata: ["app": "\(app)", "release": "v\(version)"])
        await drain(draining)
        return version
    }

    private func build(tag: String) async throws -> String {
        do {
            let image = try await docker.build(
                contextFile: job.uploadPath, tag: tag, memoryLimit: configuration.buildMemoryLimit,
                labels: ["mini.app": app.rawValue]
            ) { line in
                try log.append(line)
            }
            try log.append("-----> Built \(tag) (\(image.prefix(19)))")
            return image
        } catch let error as DockerError where error.isBuildFailure {
            throw DeployFailure.permanent("build failed", error.message)
        } catch let error as DockerError where error.isDaemonUnreachable {
            throw DeployFailure.transient("docker unreachable", error.message)
        }
    }

    /// The port the app listens on: the image's lowest exposed TCP port, else `PORT` from
    /// the app's environment, else 8080.
    private func containerPort(image: String, environment: [String: String]) async throws -> Int {
        let info = try await docker.inspectImage(image)
        if let exposed = info.exposedTCPPorts.min() { return exposed }
        if let configured = environment["PORT"].flatMap(Int.init), (1...65535).contains(configured) {
            return configured
        }
        return 8080
    }

    private func startInstance(
        index: Int, version: Int, image: String, containerPort: Int,
        environment: [String: String], limits: AppRecord?
    ) async throws -> InstanceRecord {
        let name = "mini-\(app)-v\(version)-\(index)"
        // A retried attempt may find the container of an earlier one.
        try? await docker.removeContainer(name, force: true)
        let hostPort = try PortAllocator.freeLoopbackPort()
        let spec = ContainerSpec(
            name: name, image: image,
            environment: environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
            labels: ["mini.app": app.rawValue, "mini.release": String(version), "mini.instance": String(index)],
            containerPort: containerPort, hostPort: hostPort,
            memoryBytes: limits?.memoryBytes, nanoCPUs: limits?.nanoCpus,
            restartPolicy: .unlessStopped
        )
        let id = try await docker.createContainer(spec)
        let instance = InstanceRecord(
            name: name, app: app.rawValue, release: version, containerId: id, port: hostPort, state: .starting
        )
        try queue.fenced(job.lease) { db in try instance.insert(db) }
        try await docker.startContainer(id)
        return instance
    }

    private func waitUntilHealthy(_ instance: InstanceRecord, path: String?) async throws {
        let gate = HealthGate(docker: docker, httpClient: httpClient, path: path, timeout: configuration.healthTimeout)
        let outcome = try await gate.wait(containerID: instance.containerId ?? instance.name, port: instance.port)
        let problem: String
        switch outcome {
        case .healthy:
            try log.append("-----> \(instance.name) is healthy on 127.0.0.1:\(instance.port)")
            return
        case .exited(let code):
            problem = "\(instance.name) exited with code \(code) before it got healthy"
        case .timedOut(let lastProblem):
            problem = "\(instance.name) did not get healthy within \(configuration.healthTimeout) (\(lastProblem))"
        }
        try log.append("-----> \(problem); its last log lines:")
        for line in (try? await docker.recentLogLines(instance.containerId ?? instance.name, count: 20)) ?? [] {
            try log.append("       \(line)")
        }
        throw DeployFailure.permanent("unhealthy", problem)
    }

    /// Stops and forgets instances of a failed attempt, whatever happened to the task.
    private func remove(_ instances: [InstanceRecord]) async {
        let docker = docker
        let apps = apps
        await Task {
            for instance in instances {
                try? await docker.removeContainer(instance.containerId ?? instance.name, force: true)
                try? apps.removeInstance(named: instance.name)
            }
        }.value
    }

    /// Lets the proxy pick up the new routes, then stops the old instances gracefully.
    private func drain(_ instances: [InstanceRecord]) async {
        guard !instances.isEmpty else { return }
        try? await Task.sleep(for: configuration.routePropagationDelay)
        for instance in instances {
            let id = instance.containerId ?? instance.name
            do {
                try await docker.stopContainer(id, timeoutSeconds: configuration.stopGraceSeconds)
                try await docker.removeContainer(id, force: true)
                try apps.removeInstance(named: instance.name)
            } catch {
                logger.warning("could not stop old instance", metadata: ["instance": "\(instance.name)", "error": "\(error)"])
            }
        }
    }
}
