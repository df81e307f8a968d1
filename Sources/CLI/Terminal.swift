import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Output without buffering: every call is one `write(2)` (more only for a partial write), so
/// lines reach a pipe (`mini logs -f | grep`) the moment they are printed, and stdout and stderr
/// never reorder.
///
/// A closed stdout (`mini logs app | head -1`) ends `mini` the way it ends other Unix tools: by
/// SIGPIPE (shells show 141). SwiftNIO ignores SIGPIPE process-wide, and Foundation's
/// `FileHandle.write` traps on the EPIPE that leaves instead. Another failed write to stdout (a
/// full disk) ends `mini` with status 1, saying so; a stdout left non-blocking by whatever
/// started `mini` is waited for. A stderr that cannot be written to is ignored.
enum Terminal {
    static func output(_ line: String) {
        var line = line + "\n"
        line.withUTF8 { outputBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes` to stdout as they are, without a newline (the output of `mini run`).
    static func outputBytes(_ bytes: UnsafeRawBufferPointer) {
        let failure = writeAll(bytes, to: STDOUT_FILENO)
        guard failure != 0 else { return }
        if failure == EPIPE { endBySIGPIPE() }
        error("error: cannot write the output: \(String(cString: strerror(failure)))")
        exit(CLIFailure.ExitStatus.failed.rawValue)
    }

    static func error(_ line: String) {
        errorInPlace(line + "\n")
    }

    /// Writes to stderr without a newline (progress redraws).
    static func errorInPlace(_ text: String) {
        var text = text
        text.withUTF8 { errorBytes(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `bytes` to stderr as they are (the output of `mini run`).
    static func errorBytes(_ bytes: UnsafeRawBufferPointer) {
        _ = writeAll(bytes, to: STDERR_FILENO)
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Ends `mini` by SIGPIPE once the reader of a piped stdout has gone, also while nothing
    /// is printed (a quiet app's `mini logs app -f | head -1`), checking every `interval` as
    /// GNU `tail -f` does. Does nothing when stdout is no pipe or socket.
    static func endWhenOutputReaderGoes(checkingEvery interval: Duration = .milliseconds(500)) {
        var status = stat()
        guard fstat(STDOUT_FILENO, &status) == 0, [S_IFIFO, S_IFSOCK].contains(status.st_mode & S_IFMT) else {
            return
        }
        Task.detached {
            while !Task.isCancelled {
                // The writing end of a pipe whose reader closed reports POLLERR.
                var descriptor = pollfd(fd: STDOUT_FILENO, events: 0, revents: 0)
                if poll(&descriptor, 1, 0) > 0, descriptor.revents & Int16(POLLERR | POLLHUP) != 0 { endBySIGPIPE() }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Ends `mini` as a closed pipe ends other tools: by SIGPIPE, whose default action NIO
    /// turned off.
    private static func endBySIGPIPE() {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
    }

    /// Writes all of `bytes`; returns 0, or the `errno` of the write that failed.
    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32 {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written >= 0 {
                offset += written
                continue
            }
            switch errno {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK:
                var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, -1)
            default:
                return errno
            }
        }
        return 0
    }
}
