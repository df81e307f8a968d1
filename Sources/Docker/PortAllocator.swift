import NIOCore
import NIOPosix

/// Finds TCP ports to publish containers on.
public enum PortAllocator {
    /// Where instance ports come from by default: below Linux's ephemeral range (32768–60999),
    /// which the kernel hands out as the local port of outgoing connections (the proxy's
    /// upstream connections among them), so that no open connection holds a port an instance
    /// is about to be published on.
    public static let defaultRange = 20000...29999

    /// A TCP port in `range`, not in `taken` (the ports recorded for instances, which the
    /// reconciler may publish again at any time), that was free a moment ago: a listener
    /// on it was bound and closed right away. Starts at a random port and goes up, wrapping.
    ///
    /// Another process may take it before it is used, so a caller that then fails to bind it
    /// (the engine says "port is already allocated") should ask again.
    /// - Throws: ``NoFreePort`` when every port of the range is taken or in use.
    public static func freeLoopbackPort(
        in range: ClosedRange<Int> = defaultRange, excluding taken: Set<Int> = []
    ) async throws -> Int {
        let start = Int.random(in: range)
        for offset in 0..<range.count {
            let port = range.lowerBound + (start - range.lowerBound + offset) % range.count
            guard !taken.contains(port), await isFree(port) else { continue }
            return port
        }
        throw NoFreePort(range: range)
    }

    /// Every port of the range is recorded for an instance or in use.
    public struct NoFreePort: Error, CustomStringConvertible {
        public let range: ClosedRange<Int>
        public var description: String {
            "no free port in \(range.lowerBound)-\(range.upperBound) on 127.0.0.1 to publish an instance on"
        }
    }

    private static func isFree(_ port: Int) async -> Bool {
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port)
                .get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
