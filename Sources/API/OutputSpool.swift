import Docker
import Synchronization

/// A one-off run's output on its way from the engine to the client: read from the engine as
/// it comes, handed on at the pace the client reads.
///
/// When a container exits, the engine gives its attached readers two seconds to take the
/// output still on its way and drops what is left then. Read at the client's pace, a run
/// whose client read in bursts (a pipe into a busy program) lost the last tens of KiB of its
/// output that way, while its exit status said it succeeded. Up to ``defaultLimit`` bytes
/// wait here for the client; only beyond them is the engine read no faster than the client
/// reads.
///
/// One task appends, one takes.
final class OutputSpool: Sendable {
    /// The most bytes of output that wait for a slow client before the engine is read at its pace.
    static let defaultLimit = 16 << 20

    private let limit: Int
    private let state = Mutex(State())

    private struct State {
        var chunks: [OutputChunk] = []
        var bytes = 0
        /// A liveness tick came since the last take.
        var ticked = false
        var ended = false
        var failure: (any Error)?
        /// The side that waits: the taker for output, or the appender for room.
        var waiter: CheckedContinuation<Void, Never>?
    }

    init(limit: Int = OutputSpool.defaultLimit) {
        self.limit = limit
    }

    /// Adds output, then waits while ``defaultLimit`` bytes or more wait. Once the task is
    /// cancelled (the run ends without its client), the output is dropped and nothing waits.
    func append(_ chunks: [OutputChunk]) async {
        guard !Task.isCancelled else { return }
        let bytes = chunks.reduce(0) { $0 + $1.bytes.readableBytes }
        state.withLock { state in
            state.chunks += chunks
            state.bytes += bytes
            return state.waiter.take()
        }?.resume()
        let limit = limit
        await wait { $0.bytes < limit }
    }

    /// Makes the taker return, with no output if none waits: a run that writes nothing checks
    /// now and then that its client is still there.
    func tick() {
        state.withLock { state in
            state.ticked = true
            return state.waiter.take()
        }?.resume()
    }

    /// Ends the output, with the error that ended it if any: ``take()`` returns nil or throws
    /// it once the output before it was taken.
    func finish(throwing failure: (any Error)? = nil) {
        state.withLock { state in
            state.ended = true
            state.failure = failure
            return state.waiter.take()
        }?.resume()
    }

    /// All the output that waits, once there is some; empty after a ``tick()`` while none
    /// waited, nil once the output ended.
    func take() async throws -> [OutputChunk]? {
        while true {
            let (taken, appender) = state.withLock {
                state -> (Result<[OutputChunk]?, any Error>?, CheckedContinuation<Void, Never>?) in
                if !state.chunks.isEmpty || state.ticked {
                    defer {
                        state.chunks = []
                        state.bytes = 0
                        state.ticked = false
                    }
                    return (.success(state.chunks), state.waiter.take())
                }
                guard state.ended else { return (nil, nil) }
                return (state.failure.map { .failure($0) } ?? .success(nil), nil)
            }
            appender?.resume()
            if let taken { return try taken.get() }
            try Task.checkCancellation()
            await wait { !$0.chunks.isEmpty || $0.ticked || $0.ended }
        }
    }

    /// Returns once `ready` holds, or the task is cancelled.
    private func wait(until ready: (borrowing State) -> Bool) async {
        while !Task.isCancelled, !state.withLock({ ready($0) }) {
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let now = state.withLock { state in
                        // Cancelled before this registration: the handler found no waiter.
                        guard !ready(state), !Task.isCancelled else { return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.waiter.take() }?.resume()
            }
        }
    }
}
