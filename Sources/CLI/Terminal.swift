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
/// `FileHandle.write` traps on the EPIPE that leaves instead. A closed stderr is ignored.
enum Terminal {
    static func output(_ line: String) {
        if !writeAll(line + "\n", to: STDOUT_FILENO) {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
        }
    }

    static func error(_ line: String) {
        _ = writeAll(line + "\n", to: STDERR_FILENO)
    }

    /// Writes to stderr without a newline (progress redraws).
    static func errorInPlace(_ text: String) {
        _ = writeAll(text, to: STDERR_FILENO)
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Writes all of `text`; false once the descriptor cannot take more (a closed pipe).
    private static func writeAll(_ text: String, to descriptor: Int32) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
