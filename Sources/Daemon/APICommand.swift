import API
import ArgumentParser
import Docker
import Hummingbird
import Logging
import MiniCore
import Proxy
import Queue
import ServiceLifecycle
import Store
import Worker

/// `minid api`: the HTTP API, with the reconciler, without proxy or workers.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Run the HTTP API and the reconciler, without the proxy and the workers.",
        discussion: """
            For a machine whose roles run as separate units: minid api (one per data folder: it also \
            runs the reconciler, which recreates lost instances), minid proxy --data-dir DIR, and any \
            number of minid worker --data-dir DIR.
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerOptions
    @OptionGroup var api: APIOptions
    @OptionGroup var apps: AppAddressOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var retention: RetentionOptions
    @OptionGroup var log: LogOptions

    @Option(help: "The proxy's HTTPS port (its --tls-port), when it serves apps over HTTPS: app URLs name it.")
    var tlsPort: Int?

    func validate() throws {
        if let tlsPort {
            try requirePort(tlsPort, option: "--tls-port")
            guard tlsPort != apps.proxyPort else { throw ValidationError("--tls-port must differ from --proxy-port") }
        }
    }

    func run() async throws {
        let logger = log.logger("minid.api")
        try await api.ensureListenable()
        let (directory, database) = try data.open()
        try directory.lockForServe()  // one reconciler per data folder
        try await AdminToken.ensure(directory: directory, database: database)
        let jobs = queue.queue(database)
        let oneOffRuns = OneOffRuns()
        let service = try makeAPIService(
            api: api, apps: apps, tlsPort: tlsPort, docker: docker, directory: directory, queue: jobs,
            oneOffRuns: oneOffRuns, logger: logger
        )
        let janitor = retention.janitor(jobs, directory: directory, logger: logger)
        let reconciler = makeReconciler(
            queue: jobs, directory: directory, docker: docker, oneOffRuns: oneOffRuns, logger: logger)
        announce(
            """
            mini's API is running.
              API:   \(api.url)
              data:  \(directory.root)
            Give mini the server with:
              mini config set-host \(api.url)
              \(await AdminToken.setTokenStep(directory: directory, database: database))
            """
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [service, janitor, reconciler], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// The reconciler of a data folder: one per folder, in `minid serve` or `minid api`, beside
/// the API whose one-off containers `oneOffRuns` holds. It waits for a worker's drain (its
/// timeout plus the stop grace period, and 30 s to spare) before it removes old instances a
/// dead worker left.
func makeReconciler(
    queue: JobQueue, directory: DataDirectory, docker: DockerOptions, oneOffRuns: OneOffRuns, logger: Logger
) -> Reconciler {
    let workerDefaults = WorkerConfiguration(dataDirectory: directory)
    return Reconciler(
        queue: queue,
        docker: DockerClient(socketPath: docker.dockerSocket, logger: logger),
        abandonedDrainAfter: workerDefaults.drainTimeout + .seconds(workerDefaults.stopGraceSeconds) + .seconds(30),
        oneOffRuns: oneOffRuns, logger: logger
    )
}

/// The Hummingbird application serving the API.
func makeAPIService(
    api: APIOptions, apps: AppAddressOptions, tlsPort: Int?, docker: DockerOptions, directory: DataDirectory,
    queue: JobQueue, proxyServer: ProxyServer? = nil, oneOffRuns: OneOffRuns, logger: Logger
) throws -> some Service {
    var configuration = APIConfiguration(dataDirectory: directory)
    configuration.oneOffRuns = oneOffRuns
    configuration.maxUploadBytes = api.maxUpload
    configuration.maxContextBytes = api.maxContext
    configuration.maxContextEntries = api.maxContextEntries
    configuration.domain = apps.domain
    configuration.proxyPort = apps.urlPort
    configuration.proxyTLSPort = tlsPort
    if let proxyServer {
        configuration.additionalMetrics = { @Sendable text in await proxyServer.appendMetrics(to: &text) }
    }
    let router = makeAPIRouter(
        configuration: configuration, database: queue.database, queue: queue,
        docker: DockerClient(socketPath: docker.dockerSocket, logger: logger)
    )
    // A client that sends nothing for the idle timeout is let go, so idle or stalled
    // connections cannot pile up (Hummingbird keeps them forever by default).
    return Application(
        router: router,
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: makeAPIChannelHandlers(),
                idleTimeout: .seconds(Int64(api.idleTimeoutSeconds)))),
        configuration: .init(address: .hostname(api.bind, port: api.apiPort), serverName: "minid"),
        logger: logger
    )
}
