import Foundation
import MiniCore

/// Where the API is and which token to send, resolved from (strongest first) the command-line
/// options, the `MINI_HOST`/`MINI_TOKEN` environment variables, the config file, the default.
struct Endpoint: Equatable, Sendable {
    static let defaultHost = "http://127.0.0.1:7070"

    /// The base URL, without a trailing `/`.
    var host: String
    var token: String?
    /// Where the host came from: `--host`, `MINI_HOST`, the config file's path, or `default`.
    var hostSource: String
    /// Where the token came from, as for the host; nil without a token.
    var tokenSource: String?

    static func resolve(options: APIOptions, environment: [String: String], file: ConfigFile)
        -> Endpoint
    {
        /// The first of the option, the variable and the saved value that is set, and where from.
        func pick(_ option: String, _ given: String?, _ variable: String, _ saved: String?) -> (String, String)? {
            if let given { return (given, option) }
            if let value = environment[variable].nonEmpty { return (value, variable) }
            return saved.map { ($0, ConfigFile.path) }
        }
        let host = pick("--host", options.host, "MINI_HOST", file.host) ?? (defaultHost, "default")
        let token = pick("--token", options.token, "MINI_TOKEN", file.token)
        return Endpoint(
            host: host.0.trimmingSuffix("/"), token: token?.0, hostSource: host.1, tokenSource: token?.1)
    }

    /// How to give another host, where this one came from.
    var hostAdvice: String {
        switch hostSource {
        case "--host": "pass --host http://HOST:PORT"
        case "MINI_HOST": "set MINI_HOST=http://HOST:PORT"
        default: "set it with mini config set-host http://HOST:PORT (or MINI_HOST, --host)"
        }
    }

    /// Resolves against the real environment and config file, which is not read when the
    /// options and variables give both host and token (a broken file does not stand in the way).
    static func current(_ options: APIOptions) throws -> Endpoint {
        let environment = ProcessInfo.processInfo.environment
        let given =
            (options.host ?? environment["MINI_HOST"].nonEmpty) != nil
            && (options.token ?? environment["MINI_TOKEN"].nonEmpty) != nil
        return resolve(options: options, environment: environment, file: given ? ConfigFile() : try ConfigFile.load())
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
