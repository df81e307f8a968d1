import Foundation
import Hummingbird
import MiniCore
import NIOCore

/// Reads the body of a run with input (see ``RunRoutes``): its first line, the
/// ``RunRequest``, goes to `request`; then, once the command runs and its stdin comes through
/// `stdin`, every ``RunInput`` line goes to the command, at the pace it reads. The body's end
/// ends stdin too (a client that sends its whole input at once, `curl --data-binary`); a body
/// that breaks off is a client that went, and a line that is no ``RunInput`` is refused: either
/// stops the command.
enum RunInputReader {
    /// The longest line taken: a request with its variables, or a piece of input.
    static let maxLineBytes = 4 << 20
    private static let maxLineText = "\(maxLineBytes >> 20) MiB"

    static func read(
        _ body: RequestBody, request: AsyncStream<Result<RunRequest, APIError>>.Continuation,
        stdin: AsyncStream<RunStdin>
    ) async {
        defer { request.finish() }
        var lines = Lines(iterator: body.makeAsyncIterator())
        var target: RunStdin?
        let first: ByteBuffer?
        do {
            first = try await lines.next()
        } catch {
            request.yield(.failure(.badRequest("the run's request takes more than \(maxLineText), or broke off")))
            return
        }
        do {
            guard let first else { return }
            guard let runRequest = try? JSONDecoder.mini.decode(RunRequest.self, from: first) else {
                request.yield(
                    .failure(.badRequest("the first line of a run with input must be the run's JSON request")))
                return
            }
            request.yield(.success(runRequest))
            request.finish()
            var ready = stdin.makeAsyncIterator()
            // Nil when the run ended before its command started.
            target = await ready.next()
            guard let target else { return }
            var forwarding = true
            var lineNumber = 1
            /// Stops the command for the current line, once.
            func refuse(_ problem: String) {
                if forwarding { target.refuse("line \(lineNumber) of the request \(problem)") }
                forwarding = false
            }
            while true {
                lineNumber += 1
                let line: ByteBuffer
                do {
                    guard let next = try await lines.next() else { break }
                    line = next
                } catch is Lines.TooLong {
                    refuse("takes more than \(maxLineText): send input in smaller pieces")
                    try await lines.skipPastNewline()
                    continue
                }
                // After the end of stdin, or once the command stopped reading: the client's end
                // is still awaited.
                guard forwarding else { continue }
                guard let input = try? JSONDecoder.mini.decode(RunInput.self, from: line) else {
                    refuse(
                        #"is not the run's input ({"data": "<base64>"}, {"resize": {"rows", "columns"}} or {"end": true})"#
                    )
                    continue
                }
                if let size = input.resize, !size.isValid {
                    refuse("resizes the terminal beyond what it can be: \(TerminalSize.rule)")
                    continue
                }
                do {
                    forwarding = try await target.send(input)
                } catch {
                    forwarding = false
                }
            }
            if forwarding { _ = try? await target.send(RunInput(end: true)) }
        } catch {
            // A broken body, or the run's end (cancelled).
            if !Task.isCancelled { target?.clientGone() }
        }
    }

    /// The lines of a body, each with its newline.
    private struct Lines {
        var iterator: RequestBody.AsyncIterator
        var pending = ByteBuffer()

        struct TooLong: Error {}

        /// The next whole line; nil at the body's end (a last line without its newline is
        /// dropped: the client went while it sent it).
        mutating func next() async throws -> ByteBuffer? {
            while true {
                if let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    return pending.readSlice(length: newline - pending.readerIndex + 1)
                }
                guard pending.readableBytes <= RunInputReader.maxLineBytes else { throw TooLong() }
                guard var chunk = try await iterator.next() else { return nil }
                pending.discardReadBytes()
                pending.writeBuffer(&chunk)
            }
        }

        /// Drops what is left of a line that was too long, up to its newline.
        mutating func skipPastNewline() async throws {
            while true {
                if let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                    pending.moveReaderIndex(to: newline + 1)
                    return
                }
                pending.clear()
                guard var chunk = try await iterator.next() else { return }
                pending.writeBuffer(&chunk)
            }
        }
    }
}
