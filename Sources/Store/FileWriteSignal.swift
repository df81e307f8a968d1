import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Wakes waiters when a file is written, by Linux's inotify: how a ``ChangeObserver`` learns
/// of another process's commit (SQLite appends it to the `-wal` file) at once, without asking
/// the database a hundred times a second while nothing happens.
///
/// Events are read only while someone waits: a busy process (a worker claiming job after
/// job) would otherwise handle one for every write of every process, which took a third
/// of the queue's throughput. In between, the kernel keeps one pending event (it merges
/// repeats), so a wait begins with a wake-up that its caller checks and waits again.
final class FileWriteSignal: Sendable {
    private let descriptor: Int32
    // Safe to share: set in init, then resumed and suspended under `state`'s lock and
    // cancelled in deinit; dispatch sources are thread-safe objects (their protocol is not
    // marked Sendable).
    private nonisolated(unsafe) let source: any DispatchSourceRead
    private let state = Mutex(State())

    private struct State {
        /// A write came while no one waited: the next wait returns at once.
        var written = false
        /// The watch is gone (the file was deleted or replaced): writes are no longer seen.
        var lost = false
        /// Whether the source delivers events (it is resumed while there are waiters).
        var delivering = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var lastID: UInt64 = 0
    }

    /// Nil where inotify is missing or `path` cannot be watched (such as a file not made yet).
    init?(path: String) {
        #if os(Linux)
            let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard descriptor >= 0 else { return nil }
            guard inotify_add_watch(descriptor, path, UInt32(IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)) >= 0 else {
                close(descriptor)
                return nil
            }
            self.descriptor = descriptor
            source = DispatchSource.makeReadSource(
                fileDescriptor: descriptor, queue: DispatchQueue(label: "mini.file-writes"))
            source.setEventHandler { [weak self] in self?.readEvents() }
            source.setCancelHandler { close(descriptor) }
        #else
            return nil
        #endif
    }

    deinit {
        // A suspended source must be resumed to be cancelled (and released).
        if !state.withLock({ $0.delivering }) { source.resume() }
        source.cancel()
    }

    /// Resumes or suspends the source as waiters come and go; call it under the lock.
    private func deliver(_ state: inout State) {
        let wanted = !state.waiters.isEmpty
        guard wanted != state.delivering else { return }
        state.delivering = wanted
        if wanted { source.resume() } else { source.suspend() }
    }

    /// Whether writes are still seen: false once the file was deleted or moved away.
    var isWatching: Bool { state.withLock { !$0.lost } }

    /// Returns once the file was written since the last return (at once when it was), after
    /// `timeout`, or when the task is cancelled; true when a write ended it.
    @discardableResult
    func wait(upTo timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.nextWrite() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let written = await group.next() ?? false
            group.cancelAll()
            return written
        }
    }

    /// True when a write (or the loss of the watch) ended the wait, false when cancelled.
    private func nextWrite() async -> Bool {
        let id = state.withLock { state in
            state.lastID += 1
            return state.lastID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    // Cancelled before this registration: the handler found no waiter.
                    guard !state.written, !state.lost, !Task.isCancelled else {
                        state.written = false
                        return true
                    }
                    state.waiters[id] = continuation
                    deliver(&state)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { deliver(&state) }
                return state.waiters.removeValue(forKey: id)
            }?.resume()
        }
        return !Task.isCancelled
    }

    /// Reads the pending events (each 16 bytes and a name, empty for a watched file) and
    /// wakes every waiter.
    private func readEvents() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var lost = false
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            var offset = 0
            while offset + 16 <= count {
                let mask = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self) }
                let nameLength = buffer.withUnsafeBytes {
                    $0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)
                }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 { lost = true }
                offset += 16 + Int(nameLength)
            }
        }
        let waiters = state.withLock { state in
            if lost { state.lost = true }
            if state.waiters.isEmpty { state.written = true }
            defer {
                state.waiters = [:]
                deliver(&state)
            }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }
}
