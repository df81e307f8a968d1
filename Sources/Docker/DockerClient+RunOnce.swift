import MiniCore

extension DockerClient {
    /// Starts a created container and hands its output to `onOutput` as it comes, as the
    /// program wrote it, the chunks that arrived together in one call, then returns its exit
    /// status once it has ended. The exit is asked for and the output attached before the
    /// start, so that neither misses what comes right after it; `started` runs once the
    /// container runs.
    public func runToExit(
        _ container: String, started: () -> Void = {}, onOutput: ([OutputChunk]) async throws -> Void
    ) async throws -> Int {
        let exit = try await watchExit(of: container)
        var chunks = try await attachOutput(container).makeAsyncIterator()
        try await startContainer(container)
        started()
        var batch: [OutputChunk] = []
        while let chunk = try await chunks.next() {
            batch.append(chunk)
            if !chunks.hasPending {
                try await onOutput(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await onOutput(batch) }
        return try await exit.status()
    }

    /// Stops a container if it runs (SIGTERM, SIGKILL after `grace` seconds) and removes it,
    /// from a task of its own, which a cancelled caller does not cancel. Failures are dropped:
    /// the reconciler removes what is left.
    public func stopAndRemove(_ container: String, grace: Int) async {
        await Task { [self] in
            try? await stopContainer(container, timeout: grace)
            try? await removeContainer(container, force: true, ignoreMissing: true)
        }.value
    }
}
