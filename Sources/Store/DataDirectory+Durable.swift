import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DataDirectory {
    /// Writes `contents` to the file at `path`, mode 0600, all or nothing: into a new file
    /// beside it, synced, then renamed over it, and the folder synced, so that a crash of the
    /// process or the machine leaves either the old file or the whole new one.
    public static func writeDurably(_ contents: String, toPrivateFile path: String) throws {
        let temporary = path + ".new"
        // Not through a link, and private whatever mode a leftover file had.
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw Self.posixError(writing: temporary) }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, 0o600) == 0 else { throw Self.posixError(writing: temporary) }
            var bytes = Array(contents.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    guard errno == EINTR else { throw Self.posixError(writing: temporary) }
                    continue
                }
                bytes = bytes.dropFirst(written)
            }
            guard fsync(descriptor) == 0 else { throw Self.posixError(writing: temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = Self.posixError(writing: path)
            unlink(temporary)
            throw error
        }
        syncFolder((path as NSString).deletingLastPathComponent)
    }

    /// Syncs the folder at `path`, so that a rename into it survives a crash of the machine.
    /// Best effort: a folder that cannot be opened only loses that guarantee.
    public static func syncFolder(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private static func posixError(writing path: String) -> CocoaError {
        let reason = String(cString: strerror(errno))
        return CocoaError(
            .fileWriteUnknown,
            userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "cannot write \(path): \(reason)"])
    }
}
