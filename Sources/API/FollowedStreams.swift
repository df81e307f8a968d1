import Synchronization

/// How many followed streams (`?follow=1` build and app logs, and one-off runs) are open now:
/// each holds a connection until it ends or its client goes away, so `/metrics` shows them.
final class FollowedStreams: Sendable {
    private let open = Atomic<Int>(0)

    /// Runs `body` counted as an open stream.
    func counting<T>(_ body: () async throws -> T) async rethrows -> T {
        open.add(1, ordering: .relaxed)
        defer { open.subtract(1, ordering: .relaxed) }
        return try await body()
    }

    var count: Int { open.load(ordering: .relaxed) }
}
