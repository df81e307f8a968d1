import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The proxy's local control socket, a Unix socket in the data directory (mode 0600, so only
/// mini's user can talk to it): worker processes ask it how many requests are still in flight
/// to the instances they are about to stop, and stop them once none are (deploy draining).
///
/// One request line per connection, one answer line:
/// ```
/// in-flight 127.0.0.1:41001 127.0.0.1:41002\n   →   3\n
/// ```
public struct ProxyControlServer: Service {
    let socketPath: String
    let proxy: ProxyServer
    let logger: Logger

    public init(socketPath: String, proxy: ProxyServer, logger: Logger) {
        self.socketPath = socketPath
        self.proxy = proxy
        self.logger = logger
    }

    public func run() async throws {
        // A socket file left by a process that was killed would make the bind fail.
        unlink(socketPath)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(socketPath, 0o600)
        logger.info("proxy control socket listening", metadata: ["path": "\(socketPath)"])
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await answer(connection) }
                    }
                }
            }
        }
        unlink(socketPath)
    }

    private func answer(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var line = ByteBuffer()
            for try await chunk in inbound {
                var chunk = chunk
                line.writeBuffer(&chunk)
                if line.readableBytesView.contains(UInt8(ascii: "\n")) || line.readableBytes > 64 * 1024 {
                    break
                }
            }
            let answer: String
            if let upstreams = ProxyControlRequest.parseInFlight(String(buffer: line)) {
                let inFlight = await proxy.inFlightRequests()
                answer = String(upstreams.reduce(0) { $0 + (inFlight[$1] ?? 0) })
            } else {
                answer = "error: expected 'in-flight HOST:PORT ...'"
            }
            try await outbound.write(ByteBuffer(string: answer + "\n"))
        }
    }
}

/// Asks a ``ProxyControlServer``.
public enum ProxyControlClient {
    /// Requests in flight (and open tunnels) to `upstreams`, summed.
    /// - Throws: when no proxy listens at `socketPath` or it answers something else.
    public static func inFlight(socketPath: String, upstreams: [Upstream]) async throws -> Int {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let answer = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: ProxyControlRequest.inFlight(upstreams) + "\n"))
            var text = ""
            for try await chunk in inbound {
                text += String(buffer: chunk)
                if text.contains("\n") { break }
            }
            return text
        }
        guard let count = Int(answer.split(whereSeparator: \.isWhitespace).first ?? "") else {
            throw ProxyError.controlAnswer(answer)
        }
        return count
    }
}

/// The control socket's request line.
enum ProxyControlRequest {
    static func inFlight(_ upstreams: [Upstream]) -> String {
        (["in-flight"] + upstreams.map(\.description)).joined(separator: " ")
    }

    /// The upstreams of an `in-flight` line, or nil when it is not one.
    static func parseInFlight(_ line: String) -> [Upstream]? {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard words.first == "in-flight" else { return nil }
        var upstreams: [Upstream] = []
        for word in words.dropFirst() {
            guard let colon = word.lastIndex(of: ":"), let port = Int(word[word.index(after: colon)...]) else {
                return nil
            }
            upstreams.append(Upstream(host: String(word[..<colon]), port: port))
        }
        return upstreams
    }
}
