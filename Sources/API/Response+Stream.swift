import HTTPTypes
import Hummingbird

extension Response {
    /// A stream that `write` fills, of `contentType` (plain text by default). A followed one
    /// (`follow`) is cancelled once its client has gone: Hummingbird does not cancel a
    /// response body for that, and a followed stream may wait long for its next line.
    /// Watching for that closes the connection when the stream ends, so the response says
    /// `Connection: close`. Followed streams count in `streams` while they are open, and
    /// `onStop` runs when minid begins to stop (see ``FollowedStreams/counting(onStop:_:)``).
    ///
    /// The watch reads on past the end of `request`'s body: a handler that read the body must
    /// pass the request it collected it into (`collectBody(upTo:)`), not the one it was given.
    static func stream(
        for request: Request, contentType: String = "text/plain; charset=utf-8", follow: Bool,
        countedIn streams: FollowedStreams, onStop: @escaping @Sendable () -> Void = {},
        _ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-cache"
        if follow { headers[.connection] = "close" }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                if follow {
                    try await streams.counting(onStop: onStop) {
                        try await request.body.consumeWithCancellationOnInboundClose { _ in try await write(&writer) }
                    }
                } else {
                    try await write(&writer)
                }
                try await writer.finish(nil)
            }
        )
    }
}
