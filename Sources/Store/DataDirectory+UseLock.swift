import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension DataDirectory {
    /// `<root>/use.lock`: every process that opens the folder's database holds it shared; a
    /// restore holds it alone.
    public var useLockPath: String { root + "/use.lock" }

    /// Takes the folder's use lock, shared, for the rest of the process's life (`flock`,
    /// released by the system when the process ends, SIGKILL included), so that a restore
    /// cannot swap the database under a running process.
    /// - Throws: ``Failure`` when a restore holds the folder.
    func holdUseLock() throws {
        try holdUseLock(LOCK_SH, whenHeld: "a minid restore runs on \(root): start this once it is done")
    }

    /// Takes the folder's use lock alone for the rest of the process's life.
    /// - Throws: ``Failure`` when any other process uses the folder.
    func holdUseLockAlone() throws {
        try holdUseLock(
            LOCK_EX,
            whenHeld: "a minid runs on \(root) (serve, api, worker, proxy --data-dir or backup): stop every one "
                + "of them, then restore")
    }

    /// Takes the use lock in `mode` without waiting; `whenHeld` says why it cannot be had.
    private func holdUseLock(_ mode: Int32, whenHeld: String) throws {
        let descriptor = open(useLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(useLockPath, errno, "open") }
        guard flock(descriptor, mode | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            throw code == EWOULDBLOCK ? Failure(whenHeld) : Failure(useLockPath, code, "lock")
        }
        // The descriptor stays open on purpose: closing it would release the lock.
    }
}
