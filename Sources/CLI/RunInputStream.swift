import Dispatch
import Foundation
import MiniCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The body of a run with input (`mini run` at a terminal, `mini run -i`): the run's request
/// on the first line, then a ``RunInput`` line for each read of stdin, its end, and each new
/// size of the terminal. Stdin is read on a thread of its own (a blocking read, which leaves
/// the terminal and pipes as they are); reads wait while the request's upload is behind.
final class RunInputStream {
    let body: Body
    private let lines: AsyncStream<ByteBuffer>.Continuation
    private let resizes: (any DispatchSourceSignal)?
    /// Lines of stdin read and not yet taken by the upload, at most ``readAhead``.
    private let readAhead = DispatchSemaphore(value: 16)

    /// Starts reading stdin, and (with `terminal`) watching the terminal's size.
    init(request: RunRequest, terminal: Bool) throws {
        let stream: AsyncStream<ByteBuffer>
        (stream, lines) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .unbounded)
        body = Body(lines: stream, readAhead: readAhead)
        lines.yield(try Self.line(request))
        if terminal {
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH)
            source.setEventHandler { [lines] in
                if let size = RawTerminal.size(), let line = try? Self.line(RunInput(resize: size)) {
                    lines.yield(line)
                }
            }
            source.resume()
            resizes = source
        } else {
            resizes = nil
        }
        let thread = Thread { [lines, readAhead] in Self.readStdin(into: lines, readAhead: readAhead) }
        thread.name = "mini-run-stdin"
        thread.start()
    }

    /// Ends the body: the run's answer has ended.
    func finish() {
        resizes?.cancel()
        lines.finish()
    }

    /// What the upload sends: the lines, each taken letting stdin be read on.
    struct Body: AsyncSequence, Sendable {
        let lines: AsyncStream<ByteBuffer>
        let readAhead: DispatchSemaphore

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(lines: lines.makeAsyncIterator(), readAhead: readAhead)
        }

        struct AsyncIterator: AsyncIteratorProtocol {
            var lines: AsyncStream<ByteBuffer>.AsyncIterator
            let readAhead: DispatchSemaphore

            mutating func next() async -> ByteBuffer? {
                let line = await lines.next()
                readAhead.signal()
                return line
            }
        }
    }

    /// Reads stdin until its end, 64 KiB at most a line; a read waits while ``readAhead``
    /// lines are unsent, so a large file piped in goes at the pace of the upload.
    private static func readStdin(into lines: AsyncStream<ByteBuffer>.Continuation, readAhead: DispatchSemaphore) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            readAhead.wait()
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0, let line = try? line(RunInput(data: Data(buffer[..<count]))) else { break }
            if case .terminated = lines.yield(line) { return }
        }
        _ = (try? line(RunInput(end: true))).map { lines.yield($0) }
    }

    private static func line(_ value: some Encodable) throws -> ByteBuffer {
        var line = ByteBuffer(bytes: try JSONEncoder.mini.encode(value))
        line.writeInteger(UInt8(ascii: "\n"))
        return line
    }
}

/// The terminal mini runs in, put in raw mode for a command that has a terminal of its own:
/// keys (Ctrl-C too) go to the command as they are typed, and its output comes back as its
/// terminal wrote it. ``restore()`` puts it back.
struct RawTerminal {
    private let saved: termios

    /// Raw mode on stdin, nil when stdin is no terminal.
    init?() {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return nil }
        saved = settings
        cfmakeraw(&settings)
        guard tcsetattr(STDIN_FILENO, TCSADRAIN, &settings) == 0 else { return nil }
    }

    func restore() {
        var settings = saved
        _ = tcsetattr(STDIN_FILENO, TCSADRAIN, &settings)
    }

    /// The size of the terminal on stdout, or stdin.
    static func size() -> TerminalSize? {
        for descriptor in [STDOUT_FILENO, STDIN_FILENO] {
            var size = winsize()
            if ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 {
                return TerminalSize(rows: Int(size.ws_row), columns: Int(size.ws_col))
            }
        }
        return nil
    }
}
