import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension DockerClient {
    /// The output of a container (created without a TTY, as mini creates them), line by line.
    ///
    /// Nothing is sent until the sequence is iterated. With `follow`, the sequence goes on
    /// until the container stops or the reading task is cancelled.
    /// - Parameters:
    ///   - tail: Only the last `tail` lines of the past output; all of it when nil.
    ///   - since: Only output after this time.
    ///   - timestamps: Each line begins with the time the engine received it (RFC 3339, in
    ///     nanoseconds) and a space.
    public func containerLogs(
        _ container: String,
        follow: Bool = false,
        tail: Int? = nil,
        since: Date? = nil,
        timestamps: Bool = false
    ) -> ContainerLogs {
        var query: [QueryItem] = [("stdout", "1"), ("stderr", "1"), ("follow", follow ? "1" : "0")]
        if timestamps { query.append(("timestamps", "1")) }
        query.append(("tail", tail.map(String.init) ?? "all"))
        if let since {
            query.append(("since", Self.unixTime(since)))
        }
        return ContainerLogs { [self, query] in
            try await openStream(.GET, "/containers/\(Self.pathSegment(container))/logs", query: query)
        }
    }

    /// Attaches to the stdout and stderr of a container created without a TTY, as mini creates
    /// them, and returns its output as the program writes it from then on, until the container
    /// stops.
    ///
    /// Attach before starting the container to get all of it. Unlike ``containerLogs(_:follow:tail:since:)``
    /// it does not read the log driver's files: a reader slower than the container slows the
    /// container down (as `docker run` does) instead of missing what the files rotated away.
    public func attachOutput(_ container: String) async throws -> ContainerOutput {
        let body = try await openStream(
            .POST, "/containers/\(Self.pathSegment(container))/attach",
            query: [("stream", "1"), ("stdout", "1"), ("stderr", "1")])
        return ContainerOutput { body }
    }

    /// Sends a request whose answer is a long stream and returns that stream once the engine
    /// has accepted it.
    func openStream(_ method: HTTPMethod, _ path: String, query: [QueryItem]) async throws
        -> HTTPClientResponse.Body
    {
        let response = try await send(method, path, query: query, deadline: .distantFuture)
        guard response.status == .ok else {
            throw try await Self.failure(of: response)
        }
        return response.body
    }

    /// A time as the engine's `since`/`until` parameters take it: Unix seconds with a fraction.
    static func unixTime(_ date: Date) -> String {
        String(format: "%.6f", date.timeIntervalSince1970)
    }
}

/// A container's output as the program wrote it; see ``DockerClient/attachOutput(_:)``.
public struct ContainerOutput: AsyncSequence, Sendable {
    public typealias Element = OutputChunk

    private let open: @Sendable () async throws -> HTTPClientResponse.Body

    init(open: @escaping @Sendable () async throws -> HTTPClientResponse.Body) {
        self.open = open
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: DecodingBodyIterator(open: open, decoder: OutputChunkDecoder()))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: DecodingBodyIterator<OutputChunkDecoder>

        /// Whether chunks that arrived together with the last one wait: ``next()`` returns one
        /// at once. Lets a reader write them on together.
        public var hasPending: Bool { base.hasPending }

        public mutating func next() async throws -> OutputChunk? {
            try await base.next()
        }
    }
}

/// The lines of a container's output; see ``DockerClient/containerLogs(_:follow:tail:since:)``.
public struct ContainerLogs: AsyncSequence, Sendable {
    public typealias Element = LogLine

    private let output: ContainerOutput

    init(open: @escaping @Sendable () async throws -> HTTPClientResponse.Body) {
        output = ContainerOutput(open: open)
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: output.makeAsyncIterator())
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: ContainerOutput.AsyncIterator
        var lines = OutputLines()
        /// Lines completed and not handed out yet, last first.
        var pending: [LogLine] = []
        var ended = false

        public mutating func next() async throws -> LogLine? {
            while pending.isEmpty, !ended {
                if let chunk = try await chunks.next() {
                    pending = lines.lines(completedBy: chunk).reversed()
                } else {
                    pending = lines.finish().reversed()
                    ended = true
                }
            }
            return pending.popLast()
        }
    }
}
