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
    private let lines: AsyncStream<Line>.Continuation
    private let resizes: (any DispatchSourceSignal)?
    private let keepalive: any DispatchSourceTimer
    /// Places for lines of stdin read and not yet taken by the upload. Made empty and then
    /// given its places: libdispatch traps when a semaphore goes with fewer than it was made with.
    private let readAhead = DispatchSemaphore(value: 0)

    /// Starts reading stdin, and (with `terminal`) watching the terminal's size.
    init(request: RunRequest, terminal: Bool) throws {
        let stream: AsyncStream<Line>
        (stream, lines) = AsyncStream.makeStream(of: Line.self, bufferingPolicy: .unbounded)
        body = Body(lines: stream, readAhead: readAhead)
        for _ in 0..<16 { readAhead.signal() }
        lines.yield(Line(bytes: try Self.line(request)))
        if terminal {
            signal(SIGWINCH, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGWINCH)
            source.setEventHandler { [lines] in
                if let size = RawTerminal.size(), let line = try? Self.line(RunInput(resize: size)) {
                    lines.yield(Line(bytes: line))
                }
            }
            source.resume()
            resizes = source
        } else {
            resizes = nil
        }
        // An empty line now and then: the API lets go of a connection it reads nothing from for
        // its idle timeout (60 s by default), and a command may run long without input.
        keepalive = DispatchSource.makeTimerSource()
        keepalive.schedule(deadline: .now() + Self.keepaliveInterval, repeating: Self.keepaliveInterval)
        keepalive.setEventHandler { [lines] in lines.yield(Line(bytes: ByteBuffer(string: "{}\n"))) }
        keepalive.resume()
        let thread = Thread { [lines, readAhead] in Self.readStdin(into: lines, readAhead: readAhead) }
        thread.name = "mini-run-stdin"
        thread.start()
    }

    /// How often the body carries an empty input line.
    static let keepaliveInterval = DispatchTimeInterval.seconds(5)

    /// Ends the body: the run's answer has ended.
    func finish() {
        keepalive.cancel()
        resizes?.cancel()
        lines.finish()
    }

    /// A line of the body; one of stdin's takes a place of ``readAhead`` until it is sent.
    struct Line: Sendable {
        var bytes: ByteBuffer
        var ofStdin = false
    }

    /// What the upload sends: the lines, each of stdin's taken letting stdin be read on.
    struct Body: AsyncSequence, Sendable {
        let lines: AsyncStream<Line>
        let readAhead: DispatchSemaphore

        func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(lines: lines.makeAsyncIterator(), readAhead: readAhead)
        }

        struct AsyncIterator: AsyncIteratorProtocol {
            var lines: AsyncStream<Line>.AsyncIterator
            let readAhead: DispatchSemaphore

            mutating func next() async -> ByteBuffer? {
                guard let line = await lines.next() else { return nil }
                if line.ofStdin { readAhead.signal() }
                return line.bytes
            }
        }
    }

    /// Reads stdin until its end, 64 KiB at most a line; a read waits while ``readAhead``
    /// lines are unsent, so a large file piped in goes at the pace of the upload.
    private static func readStdin(into lines: AsyncStream<Line>.Continuation, readAhead: DispatchSemaphore) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            readAhead.wait()
            var count: Int
            repeat {
                count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            } while count < 0 && errno == EINTR
            guard count > 0, let line = try? line(RunInput(data: Data(buffer[..<count]))) else { break }
            if case .terminated = lines.yield(Line(bytes: line, ofStdin: true)) { return }
        }
        _ = (try? line(RunInput(end: true))).map { lines.yield(Line(bytes: $0)) }
    }

    private static func line(_ value: some Encodable) throws -> ByteBuffer {
        var line = ByteBuffer(bytes: try JSONEncoder.mini.encode(value))
        line.writeInteger(UInt8(ascii: "\n"))
        return line
    }
}

/// The terminal mini runs in, put in raw mode for a command that has a terminal of its own:
/// keys (Ctrl-C too) go to the command as they are typed, and its output comes back as its
/// terminal wrote it. ``restore()`` puts it back, and so does a signal that ends mini meanwhile
/// (`kill`, a closed terminal), before it ends mini as it would have.
struct RawTerminal {
    private let saved: termios
    private let endings: [any DispatchSourceSignal]
    /// The signals that end mini, with the terminal put back first.
    private static let endingSignals = [SIGTERM, SIGHUP, SIGINT, SIGQUIT]

    /// Raw mode on stdin, nil when stdin is no terminal.
    init?() {
        var settings = termios()
        guard tcgetattr(STDIN_FILENO, &settings) == 0 else { return nil }
        let saved = settings
        cfmakeraw(&settings)
        guard tcsetattr(STDIN_FILENO, TCSADRAIN, &settings) == 0 else { return nil }
        self.saved = saved
        endings = Self.endingSignals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler {
                var settings = saved
                _ = tcsetattr(STDIN_FILENO, TCSANOW, &settings)
                signal(number, SIG_DFL)
                kill(getpid(), number)  // to the process: this thread blocks signals
            }
            source.resume()
            return source
        }
    }

    func restore() {
        for source in endings { source.cancel() }
        for number in Self.endingSignals { signal(number, SIG_DFL) }
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
