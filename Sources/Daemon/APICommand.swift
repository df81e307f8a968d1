import API
import ArgumentParser
import Docker
import Hummingbird
import Logging
import Proxy
import Queue
import ServiceLifecycle
import Store

/// `minid api`: the HTTP API alone.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Run the HTTP API alone.")

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerOptions
    @OptionGroup var api: APIOptions
    @OptionGroup var proxy: ProxyOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = log.logger("minid.api")
        try await api.ensureListenable()
        let (directory, database) = try data.open()
        try AdminToken.ensure(directory: directory, database: database)
        let jobs = queue.queue(database)
        let service = try makeAPIService(
            api: api, proxy: proxy, docker: docker, directory: directory, queue: jobs, logger: logger
        )
        let janitor = queue.janitor(jobs, directory: directory, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [service, janitor], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// The Hummingbird application serving the API.
func makeAPIService(
    api: APIOptions, proxy: ProxyOptions, docker: DockerOptions, directory: DataDirectory, queue: JobQueue,
    proxyServer: ProxyServer? = nil, logger: Logger
) throws -> some Service {
    var configuration = APIConfiguration(dataDirectory: directory)
    configuration.maxUploadBytes = api.maxUpload
    configuration.maxContextBytes = api.maxContext
    configuration.maxContextEntries = api.maxContextEntries
    configuration.domain = proxy.domain
    configuration.proxyPort = proxy.proxyPort
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
        server: .http1(configuration: .init(idleTimeout: .seconds(Int64(api.idleTimeoutSeconds)))),
        configuration: .init(address: .hostname(api.bind, port: api.apiPort), serverName: "minid"),
        logger: logger
    )
}
