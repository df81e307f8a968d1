import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wakes a waiter when a file is written, by Linux's inotify: how a ``ChangeObserver`` learns
/// of another process's commit (SQLite appends it to the `-wal` file) at once, without asking
/// the database a hundred times a second while nothing happens.
final class FileWriteSignal: Sendable {
    private let descriptor: Int32
    // Safe to share: set in init, then only cancelled, in deinit; dispatch sources are
    // thread-safe objects (their protocol is not marked Sendable).
    private nonisolated(unsafe) let source: any DispatchSourceRead
    private let state = Mutex(State())

    private struct State {
        /// A write came while no one waited: the next wait returns at once.
        var written = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var lastID: UInt64 = 0
    }

    /// Nil where inotify is missing or `path` cannot be watched (such as a file not made yet).
    init?(path: String) {
        #if os(Linux)
            let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard descriptor >= 0 else { return nil }
            guard inotify_add_watch(descriptor, path, UInt32(IN_MODIFY)) >= 0 else {
                close(descriptor)
                return nil
            }
            self.descriptor = descriptor
            source = DispatchSource.makeReadSource(
                fileDescriptor: descriptor, queue: DispatchQueue(label: "mini.file-writes"))
            source.setEventHandler { [weak self] in self?.drainAndSignal() }
            source.setCancelHandler { close(descriptor) }
            source.resume()
        #else
            return nil
        #endif
    }

    deinit { source.cancel() }

    /// Returns once the file was written since the last return (at once when it was), after
    /// `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nextWrite() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func nextWrite() async {
        let id = state.withLock { state in
            state.lastID += 1
            return state.lastID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    // Cancelled before this registration: the handler found no waiter.
                    guard !state.written, !Task.isCancelled else {
                        state.written = false
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }?.resume()
        }
    }

    private func drainAndSignal() {
        var events = [UInt8](repeating: 0, count: 4096)
        while read(descriptor, &events, events.count) > 0 {}
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.written = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }?.resume()
    }
}
