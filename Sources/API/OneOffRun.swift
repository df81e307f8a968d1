import Docker
import Foundation
import Logging
import MiniCore
import NIOCore
import Store
import Synchronization

/// A one-off command in a new container of a release (`mini run`): the release's image,
/// environment (with `PORT`, and the run's own variables on top) and limits; no published
/// port, no restart, an init process that passes signals on. Labelled as a one-off of this
/// process's runs, which the reconciler beside the API leaves alone while it is live.
struct OneOffRun: Sendable {
    let docker: DockerClient
    let runs: OneOffRuns
    let app: AppName
    let spec: ContainerSpec
    let release: Int
    let logger: Logger
    /// The terminal's size at the start, for a run in a terminal.
    let terminalSize: TerminalSize?
    /// Why the run's input stopped the command, once it did.
    private let inputRefusal = InputRefusal()

    /// The most bytes of answer lines gathered for one write.
    static let writeBytes = 64 << 10
    /// How long a command whose client went gets between SIGTERM and SIGKILL.
    static let stopGraceSeconds = 10
    /// How often a run with input that writes nothing checks that its client is still there.
    static let livenessInterval = Duration.seconds(3)

    /// A new name for a one-off container of `app`.
    static func containerName(for app: AppName) -> String {
        let suffix = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        return "mini-\(app)-run-\(String(repeating: "0", count: 6 - suffix.count))\(suffix)"
    }

    /// - Parameter withInput: the command reads the input its client sends (see ``RunStdin``),
    ///   in a terminal when the request asks for one.
    init(
        docker: DockerClient, runs: OneOffRuns, app: AppName, release: ReleaseRecord, request: RunRequest,
        name: String? = nil, withInput: Bool = false, installation: Installation, logger: Logger
    ) {
        let environment = release.environment.merging(request.env) { _, runs in runs }
        self.docker = docker
        self.runs = runs
        self.app = app
        self.release = release.version
        self.logger = logger
        var spec = ContainerSpec.runningOnce(
            request.command, name: name ?? Self.containerName(for: app),
            image: release.image, env: ContainerSpec.environment(environment, port: release.containerPort),
            labels: [
                ContainerLabel.installation: installation.id, ContainerLabel.oneOff: app.rawValue,
                ContainerLabel.oneOffOwner: runs.owner, ContainerLabel.release: String(release.version),
            ],
            memoryLimit: release.memoryBytes, nanoCPUs: release.nanoCpus
        )
        if withInput {
            spec.stdin = request.terminal == nil ? .pipe : .terminal
        }
        self.spec = spec
        terminalSize = request.terminal
    }

    /// Runs the command and writes the answer's lines (see ``RunEvent``): the container and
    /// release, its output as it comes (chunks that arrive together in one write), then its
    /// exit status, or why it could not run to its end. The container is live in ``runs``
    /// from before it is created until it is removed: when the command ended, and when the
    /// caller is cancelled (its client went, minid stops) or `write` fails, after SIGTERM and
    /// ``stopGraceSeconds``; and once `tokenEnd`, asked every second while it runs, says
    /// why the request's token no longer holds.
    func run(
        stillWanted: @escaping @Sendable () async throws -> Bool, stopping: @escaping @Sendable () -> Bool,
        tokenEnd: @escaping @Sendable () async -> FollowedStreamEnd?, stdin: AsyncStream<RunStdin>.Continuation? = nil,
        write: (ByteBuffer) async throws -> Void
    ) async throws {
        var answer = AnswerLines()
        runs.begin(spec.name)
        defer { runs.end(spec.name) }
        var container: String?
        do {
            container = try await docker.createContainer(spec)
            try answer.append(RunEvent(container: spec.name, release: release))
            try await write(answer.take())
            var end: RunEvent
            if try await !stillWanted() {
                end = RunEvent(error: "\(app) was destroyed meanwhile")
            } else if stopping() {
                end = RunEvent(error: "minid is stopping; run the command again once it is back", serverStopping: true)
            } else {
                let tokenEnded: Bool
                (end, tokenEnded) = try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        while (try? await Task.sleep(for: .seconds(1))) != nil {
                            if await tokenEnd() != nil {
                                stop()
                                return true
                            }
                        }
                        return false
                    }
                    let end = try await streamOutput(
                        of: container ?? spec.name, stopping: stopping, stdin: stdin, into: &answer, write: write)
                    group.cancelAll()
                    return (end, try await group.next() ?? false)
                }
                let status = end.exitCode.map { " (exit status \($0))" } ?? ""
                if tokenEnded {
                    end = RunEvent(
                        error: "the token of this request was revoked or expired: the command was stopped\(status)",
                        tokenEnded: true)
                } else if stopping() {
                    end = RunEvent(error: "minid is stopping: the command was stopped\(status)", serverStopping: true)
                } else if let refusal = inputRefusal.reason {
                    end = RunEvent(error: "\(refusal): the command was stopped\(status)")
                }
            }
            try answer.append(end)
            try await write(answer.take())
        } catch let error as DockerError {
            try? answer.append(
                RunEvent(error: "the Docker engine could not create the run's container: \(error.message)"))
            try? await write(answer.take())
        } catch let error as ChannelError {
            // The answer could not be written: its client went.
            logger.info("one-off run's client went; the command is stopped", metadata: ["container": "\(spec.name)"])
            await remove(container)
            throw error
        } catch {
            if !(error is CancellationError) {
                logger.error("one-off run failed", metadata: ["container": "\(spec.name)", "error": "\(error)"])
                try? answer.append(RunEvent(error: "the run failed on the server: \(error)"))
                try? await write(answer.take())
            }
            await remove(container)
            throw error
        }
        await remove(container)
    }

    /// Writes the output as it comes and returns the last event: the exit status, or the
    /// engine's error (the lines before it may still wait in `answer`). The output is read
    /// from the engine through an ``OutputSpool``, so a client that reads slowly loses none of
    /// it. With `stdin`, the command's stdin is attached too, and handed to it once the
    /// command runs; while there is no output then, an empty answer line every
    /// ``livenessInterval``: the input's reader waits as long as the command does not read,
    /// and a client that went meanwhile is seen by the line that cannot be written.
    private func streamOutput(
        of id: String, stopping: @escaping @Sendable () -> Bool, stdin: AsyncStream<RunStdin>.Continuation?,
        into answer: inout AnswerLines, write: (ByteBuffer) async throws -> Void
    ) async throws -> RunEvent {
        /// Writes output as answer lines; no chunks (a liveness tick) writes an empty line.
        func forward(_ chunks: [OutputChunk]) async throws {
            guard !chunks.isEmpty else { return try await write(ByteBuffer(string: "\n")) }
            for chunk in chunks {
                try answer.append(RunEvent(stream: chunk.stream.rawValue, data: Data(chunk.bytes.readableBytesView)))
                if answer.bytes >= Self.writeBytes { try await write(answer.take()) }
            }
            if answer.bytes > 0 { try await write(answer.take()) }
        }
        let spool = OutputSpool()
        do {
            let status = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask {
                    do {
                        let status =
                            if let stdin {
                                try await runAttached(id, stdin: stdin, stopping: stopping, into: spool)
                            } else {
                                // A stop asked for before the start found nothing to stop.
                                try await docker.runToExit(
                                    id, started: { if stopping() { stop() } }, onOutput: { await spool.append($0) })
                            }
                        spool.finish()
                        return status
                    } catch {
                        spool.finish(throwing: error)
                        return nil
                    }
                }
                if stdin != nil {
                    group.addTask {
                        while (try? await Task.sleep(for: Self.livenessInterval)) != nil { spool.tick() }
                        return nil
                    }
                }
                while let chunks = try await spool.take() { try await forward(chunks) }
                group.cancelAll()
                return try await group.reduce(nil) { $0 ?? $1 }
            }
            guard let status else { throw CancellationError() }
            return RunEvent(exitCode: status)
        } catch let error as DockerError where error.code == .daemonUnreachable {
            return RunEvent(error: "the Docker engine stopped answering; the command's end is unknown")
        } catch let error as DockerError {
            return RunEvent(error: "the Docker engine could not run the command: \(error.message)")
        }
    }

    /// Starts the container attached to its stdin, which goes to the reader of the client's
    /// input once the command runs, and appends the output to `spool`; returns the exit status.
    private func runAttached(
        _ id: String, stdin: AsyncStream<RunStdin>.Continuation, stopping: () -> Bool, into spool: OutputSpool
    ) async throws -> Int {
        let exit = try await docker.watchExit(of: id)
        try await docker.attachInteractive(id, terminal: spec.stdin == .terminal) { output, input in
            try await docker.startContainer(id)
            if stopping() { stop() }
            if let size = terminalSize {
                try? await docker.resizeTerminal(id, rows: size.rows, columns: size.columns)
            }
            stdin.yield(
                RunStdin(
                    docker: docker, container: id, writer: input, clientGone: stop,
                    refuse: { [inputRefusal] reason in
                        inputRefusal.record(reason)
                        stop()
                    }))
            stdin.finish()
            for try await chunks in output { await spool.append(chunks) }
        }
        try Task.checkCancellation()
        return try await exit.status()
    }

    /// Stops the command (SIGTERM, SIGKILL after ``stopGraceSeconds``), from a task of its
    /// own: minid stops. Its output then ends, and ``run(stillWanted:stopping:tokenEnd:stdin:write:)`` with it.
    @Sendable func stop() {
        Self.stop(spec.name, on: docker)
    }

    /// The answer line of a run that could not begin, saying why.
    static func errorLine(_ message: String) throws -> ByteBuffer {
        var answer = AnswerLines()
        try answer.append(RunEvent(error: message))
        return answer.take()
    }

    /// Stops the one-off container `name` as ``stop()`` does, before its run was made.
    static func stop(_ name: String, on docker: DockerClient) {
        Task { try? await docker.stopContainer(name, timeout: stopGraceSeconds) }
    }

    /// Stops the command (SIGTERM, SIGKILL after ``stopGraceSeconds``) if it still runs and
    /// removes its container, also when the request was cancelled.
    private func remove(_ container: String?) async {
        guard let container else { return }
        await docker.stopAndRemove(container, grace: Self.stopGraceSeconds)
    }
}

/// The stdin of a run with input, handed to the task that reads the client's ``RunInput``
/// lines once the command runs: it writes to it at the pace the command reads.
struct RunStdin: Sendable {
    let docker: DockerClient
    let container: String
    let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
    /// Stops the command: its client went before it ended.
    let clientGone: @Sendable () -> Void
    /// Stops the command for input that cannot be passed on, saying why in the answer's last line.
    let refuse: @Sendable (_ reason: String) -> Void

    /// Passes `input` on; returns false once stdin has ended.
    func send(_ input: RunInput) async throws -> Bool {
        if let data = input.data, !data.isEmpty { try await writer.write(ByteBuffer(bytes: data)) }
        if let size = input.resize {
            try? await docker.resizeTerminal(container, rows: size.rows, columns: size.columns)
        }
        if input.end == true {
            writer.finish()
            return false
        }
        return true
    }
}

/// Why a run's input stopped its command (see ``RunStdin/refuse``): the first reason given.
private final class InputRefusal: Sendable {
    private let first = Mutex<String?>(nil)

    var reason: String? { first.withLock { $0 } }

    func record(_ reason: String) {
        first.withLock { $0 = $0 ?? reason }
    }
}

/// Run events as JSON lines, gathered for one write.
private struct AnswerLines {
    private let encoder = JSONEncoder.mini
    private var buffer = ByteBuffer()

    var bytes: Int { buffer.readableBytes }

    mutating func append(_ event: RunEvent) throws {
        buffer.writeBytes(try encoder.encode(event))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The lines gathered so far, leaving none.
    mutating func take() -> ByteBuffer {
        defer { buffer = ByteBuffer() }
        return buffer
    }
}
