import Dispatch
import Foundation
import MiniCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What Ctrl-C does while `mini` is in the middle of something: says what it means (while
/// following a job: the job goes on on the server, and how to get back to it; without it, an
/// interrupted `mini deploy` ended silently and looked cancelled), or puts something back
/// (the terminal's echo), then ends `mini` as Ctrl-C ends any program: the shell sees status
/// 130, and a loop running `mini` stops too. Outside such a stretch, Ctrl-C ends `mini`
/// without a word, as usual.
enum InterruptNotice {
    private struct State {
        var message: String?
        var cleanUp: (@Sendable () -> Void)?
        /// The process's one SIGINT source, made on first use and never cancelled:
        /// libdispatch installs its signal handler only once per signal.
        var source: (any DispatchSourceSignal)?
        /// Whether a Ctrl-C is being acted on: a second one (or this one again, see the
        /// handler), before the process has ended, says nothing more.
        var interrupted = false
    }

    private static let state = Mutex(State())

    /// Runs `body`; Ctrl-C meanwhile prints `message` to stderr, then ends `mini`.
    static func whileRunning<T>(saying message: String, _ body: () async throws -> T) async throws -> T {
        arm(message: message, cleanUp: nil)
        defer { disarm() }
        return try await body()
    }

    /// Runs `body`, which follows `job`; Ctrl-C meanwhile says that the job goes on, and how to
    /// follow it again or cancel it.
    static func whileFollowing<T>(job: JobID, _ body: () async throws -> T) async throws -> T {
        try await whileRunning(
            saying: "stopped following job \(job), which goes on on the server: "
                + "mini logs --build \(job) -f to follow it again, mini cancel \(job) to stop it",
            body)
    }

    /// Runs `body`; Ctrl-C meanwhile runs `cleanUp`, then ends `mini`.
    static func whileRunning<T>(cleaningUp cleanUp: @escaping @Sendable () -> Void, _ body: () throws -> T) rethrows
        -> T
    {
        arm(message: nil, cleanUp: cleanUp)
        defer { disarm() }
        return try body()
    }

    private static func arm(message: String?, cleanUp: (@Sendable () -> Void)?) {
        state.withLock { state in
            state.message = message
            state.cleanUp = cleanUp
            guard state.source == nil else { return }
            // Until the source is registered, the default action would end the process.
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler {
                let (message, cleanUp, again) = Self.state.withLock { state in
                    defer { state.interrupted = true }
                    return (state.message, state.cleanUp, state.interrupted)
                }
                if !again {
                    cleanUp?()
                    if let message { Terminal.error("\n" + message) }
                }
                signal(SIGINT, SIG_DFL)
                // To the process, not this thread: libdispatch's threads block signals. While
                // every thread does, the signal comes back to this source; it is sent again then
                // (without a second notice) until a thread that takes it ends the process.
                kill(getpid(), SIGINT)
            }
            source.resume()
            state.source = source
        }
    }

    private static func disarm() {
        state.withLock { state in
            state.message = nil
            state.cleanUp = nil
        }
    }
}
