import Foundation
import MiniCore

/// Who holds a lease: a worker process on a host.
public struct WorkerIdentity: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var host: String
    public var pid: Int32

    public init(
        name: String, host: String = WorkerIdentity.localHost,
        pid: Int32 = ProcessInfo.processInfo.processIdentifier
    ) {
        self.name = name
        self.host = host
        self.pid = pid
    }

    /// This machine and process namespace: the host name, then `~`, the boot's id and the pid
    /// namespace (on Linux). Pids are compared only between workers of the same one: a
    /// container sharing the host name (`--network host`) or a cloned VM has others.
    public static let localHost: String = {
        let name = ProcessInfo.processInfo.hostName
        guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8),
            let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        else { return name }
        let digits = namespace.filter(\.isNumber)
        return "\(name)~\(boot.trimmingCharacters(in: .whitespacesAndNewlines).prefix(8))-\(digits)"
    }()

    /// `name@host:pid`, as stored in `jobs.lease_owner`.
    public var description: String { "\(name)@\(host):\(pid)" }

    /// Reads a `name@host:pid` back; nil when `owner` is not one.
    public init?(parsing owner: String) {
        guard let colon = owner.lastIndex(of: ":"), let pid = Int32(owner[owner.index(after: colon)...]),
            let at = owner[..<colon].lastIndex(of: "@")
        else { return nil }
        self.init(name: String(owner[..<at]), host: String(owner[owner.index(after: at)..<colon]), pid: pid)
    }
}

/// The proof that a worker holds a job. Every write the worker makes for the job carries the
/// token and is refused once another lease replaced it ("fencing").
public struct Lease: Sendable, Equatable {
    public let job: JobID
    public let token: String
    public let owner: String
}

/// A job a worker claimed, with what it needs to build it.
public struct ClaimedJob: Sendable {
    public let lease: Lease
    public let info: JobInfo
    /// The saved build context of a `deploy` job.
    public let uploadPath: String
    /// What a `release` job changes.
    public let change: ReleaseChange?
}

/// Why a worker gives a job back.
public enum JobFailure: Sendable, Equatable {
    /// The app's own fault (its Dockerfile failed, it never got healthy): not retried.
    case permanent(reason: String, error: String)
    /// The platform's fault (Docker unreachable, disk full): retried with backoff while
    /// attempts are left.
    case transient(reason: String, error: String)
}
