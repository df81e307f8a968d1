import Foundation
import NIOCore
import NIOPosix
import Proxy
import Store

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks, before anything starts, that an address minid is to listen on can be bound, so
/// that a port taken by another minid or server is reported with the listener and the
/// option to change, instead of as a bare bind error after the start-up banner. (The port
/// may still be taken in between; the listener's own bind error then stops minid.)
struct ListenCheck: Error, CustomStringConvertible {
    let description: String

    /// - Parameters:
    ///   - listener: What listens there, such as "the API".
    ///   - option: The option that sets the port, such as "--api-port".
    static func ensureAvailable(host: String, port: Int, for listener: String, option: String) async throws {
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port)
                .get()
            try? await channel.close()
        } catch let error as IOError {
            let address = "\(host):\(port)"
            switch error.errnoCode {
            case EADDRINUSE:
                throw ListenCheck(
                    description: "\(address), where \(listener) listens, is in use (another minid?): "
                        + "stop what uses it or choose another port with \(option)")
            case EACCES:
                throw ListenCheck(
                    description: "\(listener) may not listen on \(address): ports below 1024 need root "
                        + "or CAP_NET_BIND_SERVICE (see deploy/systemd), or choose another port with \(option)")
            case EADDRNOTAVAIL:
                throw ListenCheck(
                    description: "\(host) is not an address of this machine: \(listener) cannot listen there (--bind)")
            default:
                throw ListenCheck(description: "\(listener) cannot listen on \(address): \(error)")
            }
        }
    }

    /// Refuses to start a second proxy on a data folder: its control socket would take the
    /// name `proxy.sock` from the running one's (and remove it when it stops), and workers
    /// would then stop old releases while that proxy still has requests in flight to them.
    /// A socket file nothing listens on (left by a killed proxy) is taken over; one that
    /// accepts a connection belongs to a live proxy, however slowly it answers.
    static func ensureNoOtherProxy(on directory: DataDirectory) async throws {
        let socket = directory.proxyControlSocketPath
        guard FileManager.default.fileExists(atPath: socket) else { return }
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .connect(unixDomainSocketPath: socket)
                .get()
            try? await channel.close()
        } catch {
            return
        }
        throw ListenCheck(
            description: "a proxy already serves \(directory.root) (it listens on \(socket)): run one proxy per "
                + "data folder (minid serve runs one; minid proxy --data-dir is for when minid api runs without it)")
    }
}
