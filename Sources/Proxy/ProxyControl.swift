import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where some upstreams stand in the proxy: how far it is from being done with them (the old
/// instances of a release), or from routing to them (the new ones).
public struct ProxyDrainState: Sendable, Equatable {
    /// Requests being forwarded to them right now, and open tunnels.
    public var inFlight: Int
    /// How many of them an event loop still routes to (its route table is not updated yet),
    /// counted once per event loop.
    public var stillRouted: Int
    /// How many of them an event loop does not route to yet, counted once per event loop;
    /// nil when the proxy did not say (one older than this count).
    public var notRouted: Int?

    public init(inFlight: Int, stillRouted: Int, notRouted: Int? = 0) {
        self.inFlight = inFlight
        self.stillRouted = stillRouted
        self.notRouted = notRouted
    }

    /// No request can reach them any more: they may be stopped.
    public var isDone: Bool { inFlight == 0 && stillRouted == 0 }
    /// Every event loop routes to all of them: a new release is what clients reach.
    public var isRouted: Bool { notRouted == 0 }
}

/// The proxy's local control socket, a Unix socket in the data directory (mode 0600 from the
/// moment it has its name, so only mini's user can talk to it): worker processes ask how far
/// the proxy is from being done with the instances they are about to stop.
///
/// One request line per connection, one answer line:
/// ```
/// drain-state 127.0.0.1:41001 127.0.0.1:41002\n   →   <in flight> <still routed> <not routed>\n
/// ```
///
/// A failure to listen (a path too long for a Unix socket, a read-only folder) is logged and
/// leaves the rest of `minid` running: workers then stop old releases without asking.
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
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        do {
            server = try await bind()
        } catch {
            logger.error(
                "proxy control socket unavailable: deploys will stop old releases without waiting for their requests",
                metadata: ["path": "\(socketPath)", "error": "\(error)"]
            )
            try? await gracefulShutdown()
            return
        }
        let identity = Self.identity(of: socketPath)
        logger.info("proxy control socket listening", metadata: ["path": "\(socketPath)"])
        try? await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await answer(connection) }
                    }
                }
            }
        }
        // Only our own socket: a newer proxy may have bound the name since.
        if let identity, Self.identity(of: socketPath) == identity {
            unlink(socketPath)
        }
    }

    /// Binds under a temporary name, restricts it to the owner, then renames it into place,
    /// so no one ever sees the socket with looser permissions.
    private func bind() async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        let temporary = socketPath + ".\(getpid()).new"
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: temporary, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        guard chmod(temporary, 0o600) == 0, rename(temporary, socketPath) == 0 else {
            let error = ProxyError.controlSocket(path: socketPath, errno: errno)
            unlink(temporary)
            try? await server.channel.close()
            throw error
        }
        return server
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
            if let upstreams = ProxyControlRequest.parse(String(buffer: line)) {
                let state = await proxy.drainState(of: upstreams)
                answer = "\(state.inFlight) \(state.stillRouted) \(state.notRouted ?? 0)"
            } else {
                answer = "error: expected 'drain-state HOST:PORT ...'"
            }
            try await outbound.write(ByteBuffer(string: answer + "\n"))
        }
    }

    /// The device and inode of the file at `path`, if any.
    private static func identity(of path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}

/// Asks a ``ProxyControlServer``.
public enum ProxyControlClient {
    /// Where `upstreams` stand in the proxy (``ProxyDrainState``).
    /// - Throws: when no proxy answers at `socketPath` within `timeout`, or it answers
    ///   something else.
    public static func drainState(
        socketPath: String, upstreams: [Upstream], timeout: Duration = .seconds(2)
    ) async throws -> ProxyDrainState {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.init(timeout))
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        // A proxy that accepts but never answers must not hold the caller forever.
        let deadline = channel.channel.eventLoop.scheduleTask(in: .init(timeout)) {
            channel.channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        let answer = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: ProxyControlRequest.line(upstreams) + "\n"))
            var text = ""
            for try await chunk in inbound {
                text += String(buffer: chunk)
                if text.contains("\n") { break }
            }
            return text
        }
        let numbers = answer.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        // Two numbers: a proxy from before the third, which a worker of a newer build may ask.
        guard numbers.count == 2 || numbers.count == 3 else { throw ProxyError.controlAnswer(answer) }
        return ProxyDrainState(inFlight: numbers[0], stillRouted: numbers[1], notRouted: numbers.dropFirst(2).first)
    }
}

/// The control socket's request line.
enum ProxyControlRequest {
    static func line(_ upstreams: [Upstream]) -> String {
        (["drain-state"] + upstreams.map(\.description)).joined(separator: " ")
    }

    /// The upstreams of a `drain-state` line, or nil when it is not one.
    static func parse(_ line: String) -> [Upstream]? {
        let words = line.split(whereSeparator: \.isWhitespace)
        guard words.first == "drain-state" else { return nil }
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
