import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
/// An error from talking to the Docker engine.
///
/// Match on ``code`` (`error.code == .notFound`); ``message`` says what happened and, where it
/// can, what to do next.
public struct DockerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case daemonUnreachable
            case notFound
            case conflict
            case buildFailed
            case badResponse
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The engine socket is missing or refuses connections.
        public static let daemonUnreachable = Code(.daemonUnreachable)
        /// The engine answered 404: no such container or image.
        public static let notFound = Code(.notFound)
        /// The engine answered 409: a name is in use, or an image is still used by a container.
        public static let conflict = Code(.conflict)
        /// The build failed; ``DockerError/message`` is the engine's reason.
        public static let buildFailed = Code(.buildFailed)
        /// The engine answered an unexpected status or a body that could not be read.
        public static let badResponse = Code(.badResponse)

        public var description: String {
            switch wrapped {
            case .daemonUnreachable: "daemon unreachable"
            case .notFound: "not found"
            case .conflict: "conflict"
            case .buildFailed: "build failed"
            case .badResponse: "bad response"
            }
        }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The engine's own message, or ours when the engine said nothing.
    public let message: String
    /// The HTTP status the engine answered, when it answered.
    public let status: Int?

    private init(_ code: Code, _ message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "docker: \(code): \(message)" }

    static func daemonUnreachable(socketPath: String, underlying: any Error) -> DockerError {
        // A failed connect says what the system said ("connection refused"), not NIO's call.
        let reason = (underlying as? IOError).map { String(cString: strerror($0.errnoCode)).lowercased() }
        return DockerError(
            .daemonUnreachable,
            "cannot reach the Docker engine at \(socketPath) (\(reason ?? "\(underlying)")): "
                + "is dockerd running? try deploy/setup-host.sh"
        )
    }

    static func buildFailed(_ message: String, status: Int? = nil) -> DockerError {
        DockerError(.buildFailed, message, status: status)
    }

    static func badResponse(_ message: String, status: Int? = nil) -> DockerError {
        DockerError(.badResponse, message, status: status)
    }

    /// The error for an engine answer with a failure status, keeping the engine's message.
    static func engine(status: Int, message: String) -> DockerError {
        switch status {
        case 404: DockerError(.notFound, message, status: status)
        case 409: DockerError(.conflict, message, status: status)
        default: DockerError(.badResponse, message, status: status)
        }
    }
}
