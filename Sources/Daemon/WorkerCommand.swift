import ArgumentParser
import Docker
import Foundation
import Logging
import Queue
import ServiceLifecycle
import Store
import Worker

/// `minid worker`: one build worker, against the data folder of an API.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run one build worker process against a data folder."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var docker: DockerOptions
    @OptionGroup var build: BuildOptions
    @OptionGroup var queue: QueueOptions
    @OptionGroup var log: LogOptions

    @Option(help: "This worker's name in job leases.")
    var name: String = "worker"

    @Option(help: "Stop when this process is no longer the parent (set by minid serve).")
    var parentPid: Int32?

    func run() async throws {
        var logger = log.logger("minid.worker")
        logger[metadataKey: "worker"] = "\(name)"
        let (directory, database) = try data.open()
        var configuration = WorkerConfiguration(dataDirectory: directory)
        configuration.buildTimeout = .seconds(build.buildTimeout)
        configuration.healthTimeout = .seconds(build.healthTimeout)
        configuration.instancePorts = build.instancePorts
        if let warning = build.ephemeralOverlapWarning() { logger.warning("\(warning)") }
        configuration.buildMemoryLimit = try build.buildMemory.map(parseByteSize)
        let worker = WorkerService(
            identity: WorkerIdentity(name: name), queue: queue.queue(database),
            docker: DockerClient(socketPath: docker.dockerSocket, logger: logger),
            configuration: configuration, logger: logger
        )
        var services = [ServiceGroupConfiguration.ServiceConfiguration(service: worker)]
        if let parentPid {
            services.append(
                .init(
                    service: ParentWatch(parent: parentPid),
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            )
        }
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
