import Foundation
import Queue

/// Appends lines to a job's build log, each append fenced by the job's lease: a worker that
/// lost its lease cannot write a single line more.
struct BuildLog: Sendable {
    let path: String
    let lease: Lease
    let queue: JobQueue

    /// Appends `text` as one or more lines.
    func append(_ text: String) throws {
        var line = text
        if !line.hasSuffix("\n") { line += "\n" }
        let bytes = Data(line.utf8)
        let path = path
        try queue.fenced(lease) { _ in
            // The write lock of the fenced transaction is held while the line is written, so
            // no other worker can take the lease in between.
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: bytes)
        }
    }
}
