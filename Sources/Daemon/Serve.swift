import ArgumentParser
import Docker
import Foundation
import Logging
import MiniCore
import Proxy
import Queue
import ServiceLifecycle
import Store
import Worker

/// `minid serve`: the embedded default, everything on one VM with SQLite.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the API, the reverse proxy and N build worker processes (SQLite, one VM)."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerOptions
    @OptionGroup var api: APIOptions
    @OptionGroup var proxy: ProxyOptions
    @OptionGroup var build: BuildOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var retention: RetentionOptions
    @OptionGroup var log: LogOptions

    @Option(help: "Number of build worker processes to run and supervise (0: jobs wait for minid worker processes).")
    var workers: Int = 2

    func validate() throws {
        guard (0...64).contains(workers) else { throw ValidationError("--workers takes 0 to 64 processes") }
    }

    func run() async throws {
        let logger = log.logger("minid")
        for (option, port) in [("--proxy-port", proxy.address.proxyPort), ("--tls-port", proxy.tls.tlsPort)]
        where port == api.apiPort {
            throw ValidationError("--api-port and \(option) are both \(api.apiPort); give them different ports")
        }
        try await api.ensureListenable()
        let proxyBind = proxy.proxyBind ?? api.bind
        try await ListenCheck.ensureAvailable(
            host: proxyBind, port: proxy.address.proxyPort, for: "the proxy", option: "--proxy-port")
        let tls = try await proxy.tls.listener(host: proxyBind)
        let (directory, database) = try data.open()
        try directory.lockForServe()
        try await ListenCheck.ensureNoOtherProxy(on: directory)
        try await AdminToken.ensure(directory: directory, database: database)
        let jobs = queue.queue(database)
        let proxyServer = makeProxyServer(
            bind: proxyBind, port: proxy.address.proxyPort, domain: proxy.address.domain, trust: proxy.trust,
            tunnels: proxy.tunnels, tls: tls, accessLog: proxy.accessLog, logger: logger)
        let oneOffRuns = OneOffRuns()
        let apiService = try makeAPIService(
            api: api, apps: proxy.address, tlsPort: tls?.urlPort, docker: docker,
            directory: directory, queue: jobs,
            proxyServer: proxyServer, oneOffRuns: oneOffRuns, logger: logger
        )
        let janitor = retention.janitor(jobs, directory: directory, logger: logger)
        let reconciler = makeReconciler(
            queue: jobs, directory: directory, docker: docker, oneOffRuns: oneOffRuns, logger: logger)
        let routeSync = RouteSync(apps: AppStore(database: database), proxy: proxyServer, logger: logger)
        await routeSync.warnAboutDomains(under: proxy.address.domain)
        await routeSync.applyStoredRoutes()
        let proxyControl = ProxyControlServer(
            socketPath: directory.proxyControlSocketPath, proxy: proxyServer, logger: logger
        )
        let workerArguments = workerArguments(directory: directory)
        let supervisor = WorkerSupervisor(
            count: workers, executable: try currentExecutable(), logger: logger,
            arguments: { index in ["worker", "--name", Self.workerName(index)] + workerArguments },
            childExited: { index, pid in
                do {
                    let rescued = try await jobs.rescueLeases(
                        of: WorkerIdentity(name: Self.workerName(index), pid: pid))
                    if rescued > 0 {
                        logger.warning(
                            "rescued the jobs of a worker that exited",
                            metadata: ["worker": "\(index)", "jobs": "\(rescued)"])
                    }
                } catch {
                    logger.error("could not rescue the jobs of an exited worker", metadata: ["error": "\(error)"])
                }
            }
        )
        let domain = proxy.address.domain
        let appURLs =
            [AppURL.of("<app>", scheme: "http", domain: domain, port: proxy.address.urlPort)]
            + (tls.map { [AppURL.of("<app>", scheme: "https", domain: domain, port: $0.urlPort)] } ?? [])
        announce(
            """
            mini is running.
              API:   \(api.url)
              apps:  \(appURLs.joined(separator: ", "))
              data:  \(directory.root)
            Deploy with:
              mini config set-host \(api.url)
              \(await AdminToken.setTokenStep(directory: directory, database: database))
              mini deploy ./examples/hello --app hello
            """
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [apiService, janitor, proxyServer, proxyControl, routeSync, supervisor, reconciler],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    private static func workerName(_ index: Int) -> String { "worker-\(index)" }

    private func workerArguments(directory: DataDirectory) -> [String] {
        var arguments = [
            "--data-dir", directory.root, "--docker-socket", docker.dockerSocket,
            "--build-timeout", String(build.buildTimeout), "--health-timeout", String(build.healthTimeout),
            "--instance-ports", "\(build.instancePorts.lowerBound)-\(build.instancePorts.upperBound)",
            "--log-level", log.logLevel.rawValue, "--lease-seconds", String(queue.leaseSeconds),
            "--parent-pid", String(ProcessInfo.processInfo.processIdentifier),
        ]
        if let memory = build.buildMemory { arguments += ["--build-memory", memory] }
        return arguments
    }
}

/// The running `minid` binary, for starting worker children.
func currentExecutable() throws -> URL {
    URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
}
