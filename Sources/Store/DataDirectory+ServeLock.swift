import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DataDirectory {
    /// `<root>/serve.lock`: held by the `minid serve` or `minid api` running on this folder, and
    /// holding its pid.
    public var serveLockPath: String { root + "/serve.lock" }

    /// Takes the folder's serve lock for the rest of the process's life (`flock`, which the
    /// system releases when the process ends, SIGKILL included), so that a second
    /// `minid serve` or `minid api` on the same folder stops at once instead of running a
    /// second reconciler (and proxy and set of workers) beside the first, the two undoing
    /// each other's repairs. Worker children do not inherit it.
    /// - Throws: ``ServeLockHeld`` when another process holds it.
    public func lockForServe() throws {
        let descriptor = open(serveLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = try? String(contentsOfFile: serveLockPath, encoding: .utf8)
            close(descriptor)
            throw ServeLockHeld(
                root: root, pid: holder.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        // The descriptor stays open on purpose: closing it would release the lock.
    }
}

/// Another `minid serve` or `minid api` runs on the data folder.
public struct ServeLockHeld: Error, CustomStringConvertible {
    public let root: String
    /// The pid the holder wrote, if it could be read.
    public let pid: Int32?

    public var description: String {
        "another minid serve or minid api\(pid.map { " (pid \($0))" } ?? "") runs on \(root): "
            + "stop it first, or give this one another --data-dir"
    }
}
