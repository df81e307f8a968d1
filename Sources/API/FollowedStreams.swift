import Hummingbird
import MiniCore
import ServiceLifecycle
import Store
import Synchronization

/// The followed streams (`?follow=1` build and app logs, and one-off runs) open now: each
/// holds a connection until it ends or its client goes away, so `/metrics` shows them. They
/// also end when minid stops: a graceful shutdown waits for open answers, and the proxy
/// would be down meanwhile.
final class FollowedStreams: Sendable {
    private let open = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    /// Runs `body` counted as an open stream. Once minid begins to stop, ``isStopping`` holds
    /// and `onStop` runs (at once if it has begun already).
    func counting<T>(onStop: @escaping @Sendable () -> Void = {}, _ body: () async throws -> T) async rethrows -> T {
        open.add(1, ordering: .relaxed)
        defer { open.subtract(1, ordering: .relaxed) }
        return try await withGracefulShutdownHandler {
            try await body()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            onStop()
        }
    }

    var count: Int { open.load(ordering: .relaxed) }

    /// Whether minid has begun to stop.
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// What a followed stream of `request` checks now and then: the line it ends with once
    /// minid stops or the request's token is revoked or expires (see
    /// ``Hummingbird/Request/tokenEnd(in:context:)``), nil to go on.
    func endCheck(
        for request: Request, context: MiniRequestContext, in database: MiniDatabase
    ) -> @Sendable () async -> String? {
        let tokenEnd = request.tokenEnd(in: database, context: context)
        return {
            if self.isStopping { return FollowedStreamEnd.serverStopping.line }
            return await tokenEnd()?.line
        }
    }
}
