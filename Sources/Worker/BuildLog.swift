import Foundation
import Queue
import Store

/// Appends lines to a job's build log, each append fenced by the job's lease: a worker that
/// lost its lease cannot write a single line more. A log stops growing at `maxBytes` (a step
/// such as `RUN yes` would fill the disk), with a last line that says so; the build goes on.
struct BuildLog: Sendable {
    let path: String
    let lease: Lease
    let queue: JobQueue
    var maxBytes: UInt64 = 16 << 20

    /// Appends `text` as one or more lines.
    func append(_ text: String) async throws {
        try await write(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Appends `lines`, each ended by a newline, in one fenced write.
    func append(lines: [String]) async throws {
        try await write(lines.map { $0 + "\n" }.joined())
    }

    private func write(_ text: String) async throws {
        let bytes = Data(text.utf8)
        let path = path
        let maxBytes = maxBytes
        try await queue.fenced(lease) { _ in
            // The write lock of the fenced transaction is held while the line is written, so
            // no other worker can take the lease in between.
            if !FileManager.default.fileExists(atPath: path) {
                DataDirectory.remakeFolderIfRemoved((path as NSString).deletingLastPathComponent)
                _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            defer { try? handle.close() }
            let end = try handle.seekToEnd()
            guard end < maxBytes else { return }
            try handle.write(contentsOf: bytes)
            if end + UInt64(bytes.count) >= maxBytes {
                let note = "-----> The build log stops here: it reached \(maxBytes >> 20) MiB. The build goes on.\n"
                try handle.write(contentsOf: Data(note.utf8))
            }
        }
    }
}
