import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What Ctrl-C says while `mini` follows a job: the job goes on on the server, and how to
/// get back to it. Without it, an interrupted `mini deploy` ended silently and looked
/// cancelled.
struct InterruptNotice {
    private let source: any DispatchSourceSignal

    /// Until ``end()``, SIGINT prints `message` to stderr and exits 130 (the shell's code
    /// for a command ended by SIGINT).
    init(_ message: String) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            Terminal.error("\n" + message)
            exit(130)
        }
        source.resume()
    }

    /// Restores Ctrl-C's usual effect.
    func end() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}
