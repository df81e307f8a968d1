import Foundation
import Synchronization

/// `POST /v1/apps/{app}/run` body: a one-off command (a migration, a console task) in a new
/// container of the app's current release, as `heroku run` or `dokku run` does.
public struct RunRequest: Codable, Sendable, Equatable {
    /// The command and its arguments, replacing the image's `CMD` (its `ENTRYPOINT` stays);
    /// not run through a shell.
    public var command: [String]
    /// Variables set for this run only, on top of the release's environment.
    public var env: [String: String]
    /// For a run with input (`mini run` at a terminal, or `-i`): the command gets a terminal
    /// of this size, nil for a pipe. Such a request goes to `POST /v1/apps/{app}/run/input`:
    /// this request on the first line, then ``RunInput`` lines while the command runs.
    public var terminal: TerminalSize?

    public init(command: [String], env: [String: String] = [:], terminal: TerminalSize? = nil) {
        self.command = command
        self.env = env
        self.terminal = terminal
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode([String].self, forKey: .command)
        env = try container.decodeIfPresent([String: String].self, forKey: .env) ?? [:]
        terminal = try container.decodeIfPresent(TerminalSize.self, forKey: .terminal)
    }
}

/// The size of a terminal, in characters.
public struct TerminalSize: Codable, Sendable, Equatable {
    public var rows: Int
    public var columns: Int

    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
    }

    /// What rows and columns may be: what a terminal's size holds (`TIOCSWINSZ`), 0 excepted.
    public static let dimensions = 1...65_535

    /// Whether both rows and columns are within ``dimensions``.
    public var isValid: Bool { Self.dimensions.contains(rows) && Self.dimensions.contains(columns) }

    /// What a size that is not ``isValid`` is told.
    public static let rule =
        "a terminal's rows and columns run from \(dimensions.lowerBound) to \(dimensions.upperBound)"
}

/// A line of input to a run with input, after its ``RunRequest``: bytes for the command's
/// stdin, a new terminal size, or the end of stdin (the command reads end of file; the
/// request's end ends stdin too, and a request that breaks off stops the command).
public struct RunInput: Codable, Sendable, Equatable {
    /// Bytes for stdin (base64 in JSON).
    public var data: Data?
    /// The terminal's new size.
    public var resize: TerminalSize?
    /// True once stdin has ended.
    public var end: Bool?

    public init(data: Data? = nil, resize: TerminalSize? = nil, end: Bool? = nil) {
        self.data = data
        self.resize = resize
        self.end = end
    }
}

/// The arguments of a command mini runs in a container (`mini run`, release commands).
public enum CommandArguments {
    /// Whether `arguments` name a program: there is a first one, and it is not empty.
    public static func nameAProgram(_ arguments: [String]) -> Bool {
        !(arguments.first ?? "").isEmpty
    }

    /// What is wrong with `arguments` beyond ``nameAProgram(_:)``: a NUL byte, which a
    /// program's arguments cannot hold (the engine would fail to start the container).
    public static func problem(with arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(where: { $0.utf8.contains(0) }) else { return nil }
        return "argument \(index + 1) of the command holds a NUL byte, which no program's arguments can"
    }
}

/// One line of the answer to `POST /v1/apps/{app}/run` (`application/x-ndjson`): first the
/// run's container and release, then its output as it comes, byte for byte, and last its exit
/// code, or an error when the command could not run to its end.
public struct RunEvent: Codable, Sendable, Equatable {
    /// The one-off container, on the first line.
    public var container: String?
    /// The release it runs, on the first line.
    public var release: Int?
    /// `stdout` or `stderr`, with `data`.
    public var stream: String?
    /// Output as the command wrote it: any bytes (base64 in JSON), not cut at line ends.
    public var data: Data?
    /// The command's exit status, on the last line.
    public var exitCode: Int?
    /// Why the command did not run to its end, on the last line instead of `exitCode`.
    public var error: String?
    /// True, with `error`, when the run ended because minid is stopping (the CLI then exits
    /// as for a lost connection).
    public var serverStopping: Bool?
    /// True, with `error`, when the run was stopped because its request's token was revoked or
    /// expired (the CLI then exits as for a refused token).
    public var tokenEnded: Bool?

    public init(
        container: String? = nil, release: Int? = nil, stream: String? = nil, data: Data? = nil,
        exitCode: Int? = nil, error: String? = nil, serverStopping: Bool? = nil, tokenEnded: Bool? = nil
    ) {
        self.container = container
        self.release = release
        self.stream = stream
        self.data = data
        self.exitCode = exitCode
        self.error = error
        self.serverStopping = serverStopping
        self.tokenEnded = tokenEnded
    }
}

/// The labels mini puts on the containers it creates, by which it finds them again.
public enum ContainerLabel {
    /// The installation (data folder) that created a container: another mini on the same
    /// engine leaves it alone. Containers made before it was set have none.
    public static let installation = "mini.installation"
    /// The app of an instance container (the reconciler keeps these in line with the store).
    public static let app = "mini.app"
    /// The app of a one-off container (`mini run`), which the reconciler leaves alone while
    /// its run lasts.
    public static let oneOff = "mini.run"
    /// Which process's API runs a one-off container (see ``OneOffRuns``).
    public static let oneOffOwner = "mini.run.owner"
    /// The release version a container runs.
    public static let release = "mini.release"
    /// The index of an instance container.
    public static let instance = "mini.instance"

    /// Every label mini reads.
    public static let all = [installation, app, oneOff, oneOffOwner, release, instance]

    /// `labels` with each label of ``all`` it lacks set empty. A container gets its image's
    /// labels, and one of these in the app's Dockerfile (`LABEL mini.run=shop`) would pass
    /// the container for another kind (an instance for a one-off, which the reconciler
    /// removes); a label the container sets wins over its image's. Empty means unset (see
    /// ``withoutUnset(_:)``).
    public static func overridingImageLabels(_ labels: [String: String]) -> [String: String] {
        labels.merging(all.map { ($0, "") }) { set, _ in set }
    }

    /// `labels` without the labels of ``all`` that are empty: unset, as a container made by
    /// ``overridingImageLabels(_:)`` has them.
    public static func withoutUnset(_ labels: [String: String]) -> [String: String] {
        labels.filter { !($0.value.isEmpty && all.contains($0.key)) }
    }
}

/// The one-off containers (`mini run`) an API runs, shared with the reconciler of the same
/// process (`minid serve` or `minid api`), which removes every one-off container but the live
/// ones of this process: those of an earlier process lost their clients with it, and those of
/// this one that are not live were left by a removal that failed.
public final class OneOffRuns: Sendable {
    /// Labels this process's one-off containers (``ContainerLabel/oneOffOwner``).
    public let owner: String
    private let live = Mutex<Set<String>>([])

    public init() {
        owner = UUID().uuidString
    }

    /// Records a run's container, by name, as live: before it is created.
    public func begin(_ container: String) {
        live.withLock { _ = $0.insert(container) }
    }

    /// Records a run as over: once its container is removed, or failed to be.
    public func end(_ container: String) {
        live.withLock { _ = $0.remove(container) }
    }

    /// Whether a container of this process's runs is live.
    public func isLive(_ container: String) -> Bool {
        live.withLock { $0.contains(container) }
    }
}
