import Foundation
import MiniCore

/// One line of a worker's claim log: what a worker process did with a lease.
///
/// Times are seconds since 1970. `startedAt` and `queuedAt` are the queue's own timestamps
/// (taken inside the claim and enqueue transactions), so lease intervals of different
/// processes compare without clock skew between the moment of a commit and its record.
enum ClaimRecord: Equatable, Sendable {
    /// A worker claimed `job` with `token`.
    case claim(job: JobID, token: String, pid: Int32, startedAt: Double, queuedAt: Double)
    /// The worker completed `job` under `token`.
    case complete(job: JobID, token: String, pid: Int32, at: Double)
    /// The queue refused to complete `job` under `token`: the lease had been lost (it
    /// expired and another worker claimed the job).
    case refused(job: JobID, token: String, pid: Int32)

    /// The record as one tab-separated line, without the newline.
    var line: String {
        switch self {
        case .claim(let job, let token, let pid, let startedAt, let queuedAt):
            "claim\t\(job)\t\(token)\t\(pid)\t\(startedAt)\t\(queuedAt)"
        case .complete(let job, let token, let pid, let at):
            "complete\t\(job)\t\(token)\t\(pid)\t\(at)"
        case .refused(let job, let token, let pid):
            "refused\t\(job)\t\(token)\t\(pid)"
        }
    }

    /// Parses a line written by ``line``; nil for anything else.
    init?(line: Substring) {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard fields.count >= 4, let job = JobID(fields[1]), let pid = Int32(fields[3]) else { return nil }
        let token = String(fields[2])
        switch (fields[0], fields.count) {
        case ("claim", 6):
            guard let startedAt = Double(fields[4]), let queuedAt = Double(fields[5]) else { return nil }
            self = .claim(job: job, token: token, pid: pid, startedAt: startedAt, queuedAt: queuedAt)
        case ("complete", 5):
            guard let at = Double(fields[4]) else { return nil }
            self = .complete(job: job, token: token, pid: pid, at: at)
        case ("refused", 4):
            self = .refused(job: job, token: token, pid: pid)
        default:
            return nil
        }
    }
}
