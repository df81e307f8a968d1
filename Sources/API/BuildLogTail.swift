import Foundation
import MiniCore
import NIOCore
import Queue

/// Reads a build log file from the start and, when following, keeps reading what the
/// worker appends until the job has ended and the file has no more bytes.
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
            let finished = try !follow || queue.job(job).state.isFinal
            if handle == nil { handle = FileHandle(forReadingAtPath: path) }
            if let handle {
                while let data = try handle.read(upToCount: 64 * 1024), !data.isEmpty {
                    try await write(ByteBuffer(bytes: data))
                }
            }
            if finished { return }
            try await Task.sleep(for: pollInterval)
        }
    }
}
