import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What Ctrl-C says while `mini` follows a job: the job goes on on the server, and how to
/// get back to it. Without it, an interrupted `mini deploy` ended silently and looked
/// cancelled.
enum InterruptNotice {
    private struct State {
        var message: String?
        /// The process's one SIGINT source, made on first use and never cancelled:
        /// libdispatch installs its signal handler only once per signal.
        var source: (any DispatchSourceSignal)?
    }

    private static let state = Mutex(State())

    /// Runs `body`; Ctrl-C meanwhile prints `message` to stderr, then ends `mini` as Ctrl-C
    /// ends any program (the shell sees status 130, and a loop running `mini` stops too).
    /// Outside `body`, Ctrl-C ends `mini` without a word, as usual.
    static func whileRunning<T>(saying message: String, _ body: () async throws -> T) async throws -> T {
        state.withLock { state in
            state.message = message
            guard state.source == nil else { return }
            // Until the source is registered, the default action would end the process.
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler {
                if let message = Self.state.withLock({ $0.message }) { Terminal.error("\n" + message) }
                signal(SIGINT, SIG_DFL)
                // To the process, not this thread: libdispatch's threads block signals.
                kill(getpid(), SIGINT)
            }
            source.resume()
            state.source = source
        }
        defer { state.withLock { $0.message = nil } }
        return try await body()
    }
}
