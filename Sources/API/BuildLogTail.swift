import Foundation
import MiniCore
import NIOCore
import Queue

/// Reads a build log file from the start and, when following, keeps reading what the
/// worker appends until the job has ended and the file has no more bytes. The log of a
/// cancelled job ends with a line that says so: its worker, fenced off by the cancel, could
/// not write one.
struct BuildLogTail: Sendable {
    let path: String
    let job: JobID
    let queue: JobQueue
    let pollInterval: Duration

    func stream(follow: Bool, write: (ByteBuffer) async throws -> Void) async throws {
        var handle: FileHandle?
        defer { try? handle?.close() }
        while true {
            // Read the state before the bytes: once the job is final, its log is complete,
            // so the bytes read after that are the last ones.
            let info = try queue.job(job)
            if handle == nil { handle = FileHandle(forReadingAtPath: path) }
            if let handle {
                while let data = try handle.read(upToCount: 64 * 1024), !data.isEmpty {
                    try await write(ByteBuffer(bytes: data))
                }
            }
            if info.state == .cancelled {
                try await write(ByteBuffer(string: "-----> Cancelled (\(info.reason ?? "no reason given"))\n"))
            }
            if info.state.isFinal || !follow { return }
            try await Task.sleep(for: pollInterval)
        }
    }
}
