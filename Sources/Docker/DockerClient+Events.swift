import AsyncHTTPClient
import Foundation
import MiniCore
import NIOCore
import NIOHTTP1

extension DockerClient {
    /// Container events as they happen, for containers carrying `label`.
    ///
    /// Nothing is sent until the sequence is iterated; it goes on until the reading task is
    /// cancelled or the engine stops.
    /// - Parameters:
    ///   - label: A label filter as `docker events` takes it: `key` or `key=value`.
    ///   - actions: The actions wanted.
    ///   - since: Replay the events since this time first, so none is lost between a look at
    ///     the current state and the start of the stream.
    public func events(
        label: String = ContainerLabel.app,
        actions: [DockerEvent.Action] = [.start, .die, .destroy],
        since: Date? = nil
    ) -> DockerEvents {
        let filters = ["type": ["container"], "label": [label], "event": actions.map(\.rawValue)]
        return DockerEvents { [self] in
            var query: [QueryItem] = [("filters", try Self.jsonQueryValue(filters))]
            if let since {
                query.append(("since", Self.unixTime(since)))
            }
            return try await openStream(.GET, "/events", query: query)
        }
    }
}

/// A stream of container events; see ``DockerClient/events(label:actions:since:)``.
public struct DockerEvents: AsyncSequence, Sendable {
    public typealias Element = DockerEvent

    private let open: @Sendable () async throws -> HTTPClientResponse.Body

    init(open: @escaping @Sendable () async throws -> HTTPClientResponse.Body) {
        self.open = open
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: DecodingBodyIterator(open: open, decoder: JSONLinesDecoder()))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: DecodingBodyIterator<JSONLinesDecoder<DockerEvent>>

        public mutating func next() async throws -> DockerEvent? {
            try await base.next()
        }
    }
}
