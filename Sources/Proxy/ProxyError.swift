/// An error the proxy server reports to its owner.
public struct ProxyError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case notRunning
        case unknownEventLoop
        case controlAnswer(String)
        case controlSocket(path: String, errno: Int32)
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    /// The server was discarded (or its `run()` ended) before it bound its port.
    public static let notRunning = ProxyError(.notRunning)
    /// A connection arrived on an event loop outside the group the server was created with.
    public static let unknownEventLoop = ProxyError(.unknownEventLoop)

    /// The control socket answered something other than its two counts.
    static func controlAnswer(_ answer: String) -> ProxyError { ProxyError(.controlAnswer(answer)) }
    /// The control socket could not be given its permissions or its name.
    static func controlSocket(path: String, errno: Int32) -> ProxyError {
        ProxyError(.controlSocket(path: path, errno: errno))
    }

    public var description: String {
        switch code {
        case .notRunning:
            "the proxy is not running: call run() (for example in a ServiceGroup) before asking for its port"
        case .unknownEventLoop:
            "a connection arrived on an event loop outside the proxy's group: pass the same group to the server bootstrap and the ProxyServer"
        case .controlAnswer(let answer):
            "the proxy control socket answered '\(answer)' instead of two counts: is a proxy of the same mini version running?"
        case .controlSocket(let path, let errno):
            "could not set up the proxy control socket \(path) (errno \(errno)): check that the data folder is writable"
        }
    }
}
