import NIOCore
import NIOPosix

/// Finds TCP ports to publish containers on.
public enum PortAllocator {
    /// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it for a listener
    /// that is closed right away.
    ///
    /// Another process may take it before it is used, so a caller that then fails to bind it
    /// (the engine says "port is already allocated") should ask again.
    public static func freeLoopbackPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else {
            throw DockerError.badResponse("the kernel gave a loopback listener no port")
        }
        return port
    }
}
