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
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
        } catch {
            throw DockerError.daemonUnreachable(socketPath: socketPath, underlying: error)
        }
        return try await channel.executeThenClose { inbound, outbound in
            let path = "/v\(version)/containers/\(Self.pathSegment(container))/attach"
            try await outbound.write(
                ByteBuffer(
                    string: "POST \(path)?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n"
                        + "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"))
            var iterator = inbound.makeAsyncIterator()
            let leftover = try await Self.readUpgradeAnswer(from: &iterator)
            return try await body(AttachedOutput(leftover: leftover, iterator: iterator, terminal: terminal), outbound)
        }
    }

    /// Reads the engine's answer to an attach up to the end of its head; returns the bytes
    /// after it (the container's first output). 101 or 200 take the connection over;
    /// anything else is the engine's refusal.
    private static func readUpgradeAnswer(
        from iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    ) async throws -> ByteBuffer {
        var head = ByteBuffer()
        let end = Array("\r\n\r\n".utf8)
        while true {
            guard var chunk = try await iterator.next() else {
                throw DockerError.badResponse("the engine closed the attach connection before it answered")
            }
            head.writeBuffer(&chunk)
            if let range = head.readableBytesView.firstRange(of: end) {
                let headLength = range.upperBound - head.readerIndex
                let text = head.readString(length: headLength) ?? ""
                let status = Int(text.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
                guard status == 101 || status == 200 else {
                    let message = head.readString(length: head.readableBytes) ?? ""
                    throw DockerError.engine(status: status, message: "attach refused: \(message)")
                }
                return head.slice()
            }
            guard head.readableBytes < 64 << 10 else {
                throw DockerError.badResponse("the engine's answer to an attach has no end to its head")
            }
        }
    }

    /// Sets the size of a running container's terminal.
    public func resizeTerminal(_ container: String, rows: Int, columns: Int) async throws {
        try await perform(
            .POST, "/containers/\(Self.pathSegment(container))/resize",
            query: [("h", String(rows)), ("w", String(columns))])
    }
}

/// What an attached container writes, the chunks that arrived together; see
/// ``DockerClient/attachInteractive(_:terminal:body:)``. It can be iterated once.
public struct AttachedOutput: AsyncSequence {
    public typealias Element = [OutputChunk]
    fileprivate let leftover: ByteBuffer
    fileprivate let iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    fileprivate let terminal: Bool

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            leftover: leftover.readableBytes > 0 ? leftover : nil, base: iterator,
            frames: terminal ? nil : LogFrameDecoder())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var leftover: ByteBuffer?
        fileprivate var base: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        /// Nil for a terminal's raw output.
        fileprivate var frames: LogFrameDecoder?

        public mutating func next() async throws -> [OutputChunk]? {
            while true {
                guard let bytes = try await nextBytes() else {
                    if let frames, !frames.isAtFrameBoundary {
                        throw DockerError.badResponse("the container's output ended within a frame")
                    }
                    return nil
                }
                guard var decoder = frames else { return [OutputChunk(stream: .stdout, bytes: bytes)] }
                decoder.append(bytes)
                var chunks: [OutputChunk] = []
                while let frame = try decoder.nextFrame() {
                    chunks.append(OutputChunk(stream: frame.stream, bytes: frame.payload))
                }
                frames = decoder
                if !chunks.isEmpty { return chunks }
            }
        }

        private mutating func nextBytes() async throws -> ByteBuffer? {
            if let first = leftover {
                leftover = nil
                return first
            }
            return try await base.next()
        }
    }
}
