import NIOCore
import NIOPosix

extension DockerClient {
    /// Attaches to a created container's stdin, stdout and stderr over a connection the engine
    /// takes over (`POST /containers/{id}/attach` with `Upgrade: tcp`), then runs `body` with
    /// what the container writes (all of it as stdout for a container with a `terminal`, see
    /// ``ContainerSpec/Stdin``) and a writer to its stdin. Finishing the
    /// writer closes the container's stdin (a created container with ``ContainerSpec/stdin``).
    /// Attach before the start to miss nothing; the connection closes when `body` returns.
    public func attachInteractive<Result: Sendable>(
        _ container: String, terminal: Bool,
        body: (_ output: AttachedOutput, _ input: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Result
    ) async throws -> Result {
        let version = try await apiVersion()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let answered = eventLoop.makePromise(of: Void.self)
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AttachAnswerHandler(answered: answered))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        } catch {
            answered.fail(error)
            throw DockerError.daemonUnreachable(socketPath: socketPath, underlying: error)
        }
        return try await channel.executeThenClose { inbound, outbound in
            let path = "/v\(version)/containers/\(Self.pathSegment(container))/attach"
            try await outbound.write(
                ByteBuffer(
                    string: "POST \(path)?stream=1&stdin=1&stdout=1&stderr=1&\(Self.detachKeysQuery) HTTP/1.1\r\n"
                        + "Host: docker\r\n"
                        + "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"))
            try await answered.futureResult.get()
            return try await body(AttachedOutput(bytes: inbound, terminal: terminal), outbound)
        }
    }

    /// The keys that detach a terminal session, as the engine's `detachKeys` takes them: three
    /// 0xFF bytes, which no UTF-8 terminal sends. The engine's default, Ctrl-P Ctrl-Q, are a
    /// shell's history keys: it held back each Ctrl-P until the next key, and a Ctrl-Q after
    /// one left the command running without its client.
    static let detachKeysQuery = "detachKeys=%FF%2C%FF%2C%FF"

    /// Sets the size of a running container's terminal.
    public func resizeTerminal(_ container: String, rows: Int, columns: Int) async throws {
        try await perform(
            .POST, "/containers/\(Self.pathSegment(container))/resize",
            query: [("h", String(rows)), ("w", String(columns))])
    }
}

/// What an attached container writes, the chunks that arrived together; see
/// ``DockerClient/attachInteractive(_:terminal:body:)``. It can be iterated once.
public struct AttachedOutput: AsyncSequence, Sendable {
    public typealias Element = [OutputChunk]
    fileprivate let bytes: NIOAsyncChannelInboundStream<ByteBuffer>
    fileprivate let terminal: Bool

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: bytes.makeAsyncIterator(), frames: terminal ? nil : LogFrameDecoder())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var base: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        /// Nil for a terminal's raw output.
        fileprivate var frames: LogFrameDecoder?

        public mutating func next() async throws -> [OutputChunk]? {
            while true {
                guard let bytes = try await base.next() else {
                    if let frames, !frames.isAtFrameBoundary {
                        throw DockerError.badResponse("the container's output ended within a frame")
                    }
                    return nil
                }
                guard var decoder = frames else {
                    // A read's buffer may be far larger than what it holds: output kept for a
                    // slow client keeps only its bytes.
                    let kept = bytes.capacity > 2 * bytes.readableBytes ? ByteBuffer(buffer: bytes) : bytes
                    return [OutputChunk(stream: .stdout, bytes: kept)]
                }
                frames = nil  // one reference to its buffer while it grows
                decoder.append(bytes)
                var chunks: [OutputChunk] = []
                do {
                    while let frame = try decoder.nextFrame() {
                        chunks.append(OutputChunk(stream: frame.stream, bytes: frame.payload))
                    }
                } catch {
                    throw DockerError.badResponse("the container's output is not the engine's frames: \(error)")
                }
                frames = decoder
                if !chunks.isEmpty { return chunks }
            }
        }
    }
}
