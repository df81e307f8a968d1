/// A failure the CLI reports as `error: <message>` on stderr, with an exit code CI can trust.
struct CLIFailure: Error, CustomStringConvertible {
    /// The exit codes `mini` documents in `mini --help`.
    struct ExitStatus: Equatable, Sendable {
        let rawValue: Int32
        private init(_ rawValue: Int32) { self.rawValue = rawValue }

        /// The job failed or was cancelled, or the server refused the request.
        static let failed = ExitStatus(1)
        /// Bad arguments or options.
        static let usage = ExitStatus(2)
        /// The server could not be reached.
        static let unreachable = ExitStatus(3)
        /// The server refused the token.
        static let unauthorized = ExitStatus(4)
    }

    let message: String
    let exitCode: ExitStatus

    init(_ message: String, exitCode: ExitStatus = .failed) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}
