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
            try bindWithoutListening(host: host, port: port)
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
        } catch  where error is SocketAddressError || error is SocketAddressError.UnknownHost {
            throw ListenCheck(
                description: "'\(host)' is neither an IP address nor a name this machine resolves: \(listener) "
                    + "cannot listen there; give an address such as 127.0.0.1, 0.0.0.0 or ::1, without a port")
        }
    }

    /// Binds a socket to `host:port` and closes it, never listening: a client connecting
    /// meanwhile (to a minid restarting on the port) is refused, not accepted and dropped.
    private static func bindWithoutListening(host: String, port: Int) throws {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        let family: Int32
        var storage = sockaddr_storage()
        let length: Int
        switch address {
        case .v4(let v4):
            family = AF_INET
            length = MemoryLayout<sockaddr_in>.size
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4.address, as: sockaddr_in.self) }
        case .v6(let v6):
            family = AF_INET6
            length = MemoryLayout<sockaddr_in6>.size
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6.address, as: sockaddr_in6.self) }
        case .unixDomainSocket:
            throw IOError(errnoCode: EAFNOSUPPORT, reason: "bind")
        }
        #if canImport(Glibc)
            let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let descriptor = socket(family, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        defer { close(descriptor) }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(length)) }
        }
        guard bound == 0 else { throw IOError(errnoCode: errno, reason: "bind") }
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
