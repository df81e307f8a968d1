import Logging
import NIOCore
import NIOPosix
import Proxy
import ServiceLifecycle

/// `proxy-bench --port P [--threads N] [--access-log] [--tls-port T --tls-certs DIR]
/// --route HOST=IP:PORT ...`: serves the static routes on N event loops (default: one per
/// core), over HTTPS too with a TLS port, until SIGTERM or SIGINT.
var configuration = ProxyConfiguration(accessLog: false)
var threads = System.coreCount
var staticRoutes: [String: [Upstream]] = [:]
var tlsPort: Int?
var tlsCertificates: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--port":
        configuration.port = arguments.popFirst().flatMap { Int($0) } ?? configuration.port
    case "--threads":
        threads = arguments.popFirst().flatMap { Int($0) } ?? threads
    case "--access-log":
        configuration.accessLog = true
    case "--tls-port":
        tlsPort = arguments.popFirst().flatMap { Int($0) }
    case "--tls-certs":
        tlsCertificates = arguments.popFirst()
    case "--route":
        let spec = arguments.popFirst() ?? ""
        let parts = spec.split(separator: "=", maxSplits: 1)
        let target = parts.last?.split(separator: ":") ?? []
        guard parts.count == 2, target.count == 2, let port = Int(target[1]) else {
            fatalError("--route wants HOST=IP:PORT, got '\(spec)'")
        }
        staticRoutes[String(parts[0]), default: []].append(Upstream(host: String(target[0]), port: port))
    default:
        fatalError("unknown argument '\(argument)'; usage: proxy-bench --port P [--threads N] --route HOST=IP:PORT")
    }
}

if let tlsPort, let tlsCertificates {
    configuration.tls = ProxyConfiguration.TLS(
        port: tlsPort, certificates: try CertificateStore(folder: tlsCertificates))
}
let logger = Logger(label: "proxy-bench")
let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let server = ProxyServer(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
server.updateRoutes(RouteTable(staticRoutes: staticRoutes))
let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
try await group.run()
