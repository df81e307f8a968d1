import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX calls the archive code needs, with errors that name the file.
enum FileSystem {
    /// `lstat(2)`: the entry itself, never what a symlink points to.
    static func linkStatus(_ path: String) throws -> stat {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw unreadable(path, errno: errno) }
        return status
    }

    static func modificationTime(_ status: stat) -> Int64 {
        #if canImport(Darwin)
            Int64(status.st_mtimespec.tv_sec)
        #else
            Int64(status.st_mtim.tv_sec)
        #endif
    }

    /// The file-type bits of `st_mode`.
    static func fileType(_ status: stat) -> mode_t { status.st_mode & S_IFMT }

    /// `readlink(2)`, decoded without normalisation.
    /// - Throws: ``ArchiveError`` when the target is not UTF-8 (it could not be sent as it is).
    static func linkTarget(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw unreadable(path, errno: errno) }
        let bytes = buffer[..<count].map { UInt8(bitPattern: $0) }
        guard let target = String(validating: bytes, as: UTF8.self) else {
            throw ArchiveError(
                .unsupportedEntry,
                "the link \(path) points to a name that is not UTF-8; change the link, or exclude it in .dockerignore")
        }
        return target
    }

    /// A name read from a directory.
    struct DirectoryName {
        /// The name; bytes that are not UTF-8 show as U+FFFD, so such a name names no file.
        var text: String
        /// Whether the name on disk is valid UTF-8, so that `text` is exactly it.
        var isUTF8: Bool
    }

    /// The names in a directory, `.` and `..` left out, in no particular order.
    static func directoryNames(_ path: String) throws -> [DirectoryName] {
        guard let directory = opendir(path) else { throw unreadable(path, errno: errno) }
        defer { closedir(directory) }
        var names: [DirectoryName] = []
        errno = 0
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { field in
                field.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: field.pointee)) {
                    String(validatingCString: $0).map { DirectoryName(text: $0, isUTF8: true) }
                        ?? DirectoryName(text: String(cString: $0), isUTF8: false)
                }
            }
            if name.text != "." && name.text != ".." { names.append(name) }
        }
        guard errno == 0 else { throw unreadable(path, errno: errno) }
        return names
    }

    static func unreadable(_ path: String, errno code: Int32) -> ArchiveError {
        let reason = String(cString: strerror(code))
        return ArchiveError(
            .unreadable,
            "cannot read \(path): \(reason); fix its permissions or exclude it in .dockerignore")
    }
}

/// A file open for reading; closed when released.
final class ReadableFile {
    let path: String
    private let descriptor: Int32

    /// Opens `path`, failing with a message that names it.
    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileSystem.unreadable(path, errno: errno) }
        self.path = path
    }

    deinit { close(descriptor) }

    /// Appends up to `count` bytes to `buffer`; returns how many (0 at the end of the file).
    func read(upTo count: Int, into buffer: inout ByteBuffer) throws -> Int {
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { destination in
            while true {
                let result = systemRead(descriptor, destination.baseAddress, count)
                if result >= 0 { return result }
                guard errno == EINTR else { throw FileSystem.unreadable(path, errno: errno) }
            }
        }
    }
}

/// `read(2)`, reachable from a type that has a `read` method of its own.
private func systemRead(_ descriptor: Int32, _ destination: UnsafeMutableRawPointer?, _ count: Int)
    -> Int
{
    read(descriptor, destination, count)
}
