import Foundation
import MiniCore

/// Where the API is and which token to send, resolved from (strongest first) the command-line
/// options, the `MINI_HOST`/`MINI_TOKEN` environment variables, the config file, the default.
struct Endpoint: Equatable, Sendable {
    static let defaultHost = "http://127.0.0.1:7070"

    /// The base URL, without a trailing `/`.
    var host: String
    var token: String?

    static func resolve(options: APIOptions, environment: [String: String], file: ConfigFile)
        -> Endpoint
    {
        let host = options.host ?? environment["MINI_HOST"].nonEmpty ?? file.host ?? defaultHost
        let token = options.token ?? environment["MINI_TOKEN"].nonEmpty ?? file.token
        return Endpoint(host: host.trimmingSuffix("/"), token: token)
    }

    /// Resolves against the real environment and config file.
    static func current(_ options: APIOptions) throws -> Endpoint {
        resolve(
            options: options, environment: ProcessInfo.processInfo.environment,
            file: try ConfigFile.load())
    }
}

extension String? {
    /// nil for an empty string too: `MINI_TOKEN=` means "not set".
    fileprivate var nonEmpty: String? { self?.isEmpty == false ? self : nil }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
