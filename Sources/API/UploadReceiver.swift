import Archive
import Foundation
import Hummingbird
import MiniCore
import NIOCore
import NIOPosix
import Store

/// Streams a request body into a file of the uploads folder without holding it in memory:
/// a temporary file, written chunk by chunk, synced to disk, then handed to the caller. The
/// writes and the sync run on NIO's blocking-I/O thread pool: under dirty-page throttling a
/// write, and the sync of a large upload, can block for seconds, which on the cooperative pool
/// would stall every other request.
/// The archive is validated as it streams in (tar or tar.gz, no path traversal, a
/// Dockerfile at the root, within `limits`), so a bad upload is refused before a job exists.
struct UploadReceiver {
    let directory: String
    let maxBytes: Int64
    /// What the archive may unpack to.
    let limits: ArchiveLimits
    /// The free space the upload must leave on the folder's disk.
    let minFreeDiskBytes: Int64

    /// Removes the temporary files of uploads a previous run of the API was receiving when it
    /// stopped (nothing else would); call it before the API takes uploads.
    static func removeLeftovers(in directory: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".upload-") && name.hasSuffix(".part") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }

    /// A saved upload: the temporary file, its size, and the validator's notes (things worth
    /// a look, such as a symlink pointing outside the context).
    struct SavedUpload {
        let path: String
        let bytes: Int64
        let notes: [String]
    }

    /// Saves `body` to a new temporary file. On any error, including a body over the
    /// limit, the partial file is removed.
    func save(
        _ body: RequestBody, declaredLength: Int64?, dockerfile: String = DockerfilePath.standard
    ) async throws -> SavedUpload {
        if let declaredLength, declaredLength > maxBytes {
            throw APIError.payloadTooLarge(limit: maxBytes)
        }
        // First, so that the free space is read on the folder's disk.
        DataDirectory.remakeFolderIfRemoved(directory)
        try ensureFreeSpace(for: declaredLength ?? 0)
        let path = "\(directory)/.upload-\(UUID().uuidString).part"
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw APIError.unavailable("cannot create an upload file in \(directory); check disk space and permissions")
        }
        do {
            let validator = ArchiveValidator(dockerfile: dockerfile, limits: limits)
            var written: Int64 = 0
            var nextSpaceCheck = Self.spaceCheckInterval
            for try await buffer in body {
                written += Int64(buffer.readableBytes)
                guard written <= maxBytes else { throw APIError.payloadTooLarge(limit: maxBytes) }
                try Self.checked { try validator.consume(buffer) }
                if written >= nextSpaceCheck {
                    try ensureFreeSpace(for: Int64(buffer.readableBytes))
                    nextSpaceCheck = written + Self.spaceCheckInterval
                }
                try await Self.saving { try handle.write(contentsOf: buffer.readableBytesView) }
            }
            guard written > 0 else {
                throw APIError.invalidArchive("the upload is empty; send a tar or tar.gz build context")
            }
            let summary = try Self.checked { try validator.finish() }
            guard summary.hasDockerfile else {
                throw APIError.invalidArchive(
                    dockerfile == DockerfilePath.standard
                        ? "the build context has no Dockerfile at its root"
                        : "the build context has no \(dockerfile), the Dockerfile the deploy names")
            }
            try await Self.saving {
                try handle.synchronize()
                try handle.close()
            }
            return SavedUpload(path: path, bytes: written, notes: summary.notes)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// Runs a write of the upload file (a write, the sync, the close: a full disk may show at
    /// any of them), answering a failure as 503 that says the disk may be full.
    private static func saving(_ body: @escaping @Sendable () throws -> Void) async throws {
        do {
            try await NIOThreadPool.singleton.runIfActive(body)
        } catch {
            throw APIError.unavailable(
                "the server could not save the upload (\(error.localizedDescription)); "
                    + "its disk may be full: free space on it, then deploy again")
        }
    }

    /// How often, in bytes received, a streaming upload checks the free space.
    private static let spaceCheckInterval: Int64 = 64 << 20

    /// Refuses an upload of `bytes` more when the disk would keep less than
    /// ``minFreeDiskBytes`` free.
    private func ensureFreeSpace(for bytes: Int64) throws {
        let attributes = try? FileManager.default.attributesOfFileSystem(forPath: directory)
        guard let free = (attributes?[.systemFreeSize] as? NSNumber)?.int64Value else { return }
        guard free - bytes >= minFreeDiskBytes else {
            throw APIError.unavailable(
                "the server's disk is nearly full (\(ByteSize.format(free)) free, \(ByteSize.format(minFreeDiskBytes)) "
                    + "kept free): free space on it (old images: docker image prune), then deploy again")
        }
    }

    /// Runs `body`, answering its ``ArchiveError`` as 413 when the archive is over a limit and
    /// as 400 otherwise.
    private static func checked<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ArchiveError {
            let option: String
            switch error.kind {
            case .contextTooLarge: option = "--max-context"
            case .tooManyEntries: option = "--max-context-entries"
            default: throw APIError.invalidArchive("the upload is not a valid build context: \(error.message)")
            }
            throw APIError.contextTooLarge(
                "\(error.message); leave out what the build does not need with .dockerignore, "
                    + "or raise the server's limit (minid \(option))")
        }
    }
}
