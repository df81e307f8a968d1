import HTTPTypes
import Hummingbird

extension Response {
    /// A `text/plain` stream that `write` fills. A followed one (`follow`) is cancelled once
    /// its client has gone: Hummingbird does not cancel a response body for that, and a
    /// followed stream may wait long for its next line. Watching for that closes the
    /// connection when the stream ends, so the response says `Connection: close`. Followed
    /// streams count in `streams` while they are open.
    static func textStream(
        for request: Request, follow: Bool, countedIn streams: FollowedStreams,
        _ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        if follow { headers[.connection] = "close" }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                if follow {
                    try await streams.counting {
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
