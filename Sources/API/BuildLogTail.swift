import Foundation
import MiniCore
import NIOCore
import Queue

/// Reads a build log file from the start and, when following, keeps reading what the
/// worker appends until the job has ended and the file has no more bytes. The log of a job
/// its worker could not close ends with a line that says how the job ended (see
/// ``closingLine(for:)``). A followed log ends early, saying so, once the request's token is revoked
/// or minid stops.
struct BuildLogTail: Sendable {
    let path: String
    let job: JobID
    let queue: JobQueue
    let pollInterval: Duration
    /// The line a followed log ends with early, or nil (see ``FollowedStreams/endCheck(for:context:in:)``).
    let endCheck: @Sendable () async -> String?

    /// How often a followed log checks whether it must end early.
    static let endCheckInterval = Duration.seconds(2)

    func stream(follow: Bool, write: (ByteBuffer) async throws -> Void) async throws {
        var handle: FileHandle?
        defer { try? handle?.close() }
        var nextEndCheck = ContinuousClock.now.advanced(by: Self.endCheckInterval)
        while true {
            // Read the state before the bytes: once the job is final, its log is complete,
            // so the bytes read after that are the last ones.
            let info = try await queue.job(job)
            if handle == nil { handle = FileHandle(forReadingAtPath: path) }
            if let handle {
                while let data = try handle.read(upToCount: 64 * 1024), !data.isEmpty {
                    try await write(ByteBuffer(bytes: data))
                }
            }
            if let line = Self.closingLine(for: info) { try await write(ByteBuffer(string: line)) }
            if info.state.isFinal || !follow { return }
            if ContinuousClock.now >= nextEndCheck {
                if let line = await endCheck() { return try await write(ByteBuffer(string: line)) }
                nextEndCheck = ContinuousClock.now.advanced(by: Self.endCheckInterval)
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// The last line of a job that ended without its worker: a cancel fences the worker off
    /// before it can write one, and a job whose worker stopped answering once too often is
    /// failed by whoever rescues its lease, not by a worker.
    static func closingLine(for info: JobInfo) -> String? {
        switch (info.state, info.reason) {
        case (.cancelled, let reason): "-----> Cancelled (\(reason ?? "no reason given"))\n"
        // Not the job's error, which may be an earlier attempt's.
        case (.failed, "worker crashed"):
            "-----> Failed: the workers holding the job kept stopping (killed, or gone with their machine)\n"
        default: nil
        }
    }
}
