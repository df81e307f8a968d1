import AsyncHTTPClient
import NIOCore

/// Turns the chunks of a streamed engine answer into values.
protocol ResponseStreamDecoder: Sendable {
    associatedtype Element: Sendable

    /// The values completed by the next chunk, in order.
    mutating func decode(_ chunk: ByteBuffer) throws -> [Element]

    /// The values left when the stream has ended.
    mutating func finish() throws -> [Element]
}

/// Reads a streamed engine answer one value at a time, pulling the next chunk only when asked
/// (so a slow reader slows the engine down instead of filling memory). Cancelling the reading
/// task, or dropping the iterator, drops the connection.
struct DecodingBodyIterator<Decoder: ResponseStreamDecoder> {
    private enum State {
        case unopened(@Sendable () async throws -> HTTPClientResponse.Body)
        case streaming(HTTPClientResponse.Body.AsyncIterator)
        case finished
    }

    private var state: State
    private var decoder: Decoder
    /// Decoded values not handed out yet, last first.
    private var pending: [Decoder.Element] = []

    /// Reads `body`, an answer already received.
    init(body: HTTPClientResponse.Body, decoder: Decoder) {
        self.state = .streaming(body.makeAsyncIterator())
        self.decoder = decoder
    }

    /// Sends the request with `open` on the first call to ``next()``.
    init(open: @escaping @Sendable () async throws -> HTTPClientResponse.Body, decoder: Decoder) {
        self.state = .unopened(open)
        self.decoder = decoder
    }

    /// Whether values decoded from the last chunk wait to be handed out: ``next()`` returns
    /// one at once, without waiting for the engine.
    var hasPending: Bool { !pending.isEmpty }

    /// The next value, or nil when the stream has ended.
    mutating func next() async throws -> Decoder.Element? {
        while true {
            if let element = pending.popLast() {
                return element
            }
            switch state {
            case .unopened(let open):
                state = .finished  // stays so if opening fails
                state = .streaming(try await open().makeAsyncIterator())
            case .streaming(var body):
                state = .finished
                if let chunk = try await body.next() {
                    pending = try decoder.decode(chunk).reversed()
                    state = .streaming(body)
                } else {
                    try Task.checkCancellation()
                    pending = try decoder.finish().reversed()
                }
            case .finished:
                return nil
            }
        }
    }
}
