import Docker
import Foundation
import Logging
import MiniCore
import NIOCore
import Store

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

    /// The most bytes of answer lines gathered for one write.
    static let writeBytes = 64 << 10
    /// How long a command whose client went gets between SIGTERM and SIGKILL.
    static let stopGraceSeconds = 10

    init(
        docker: DockerClient, runs: OneOffRuns, app: AppName, release: ReleaseRecord, request: RunRequest,
        installation: Installation, logger: Logger
    ) {
        let environment = release.environment.merging(request.env) { _, runs in runs }
        let suffix = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        self.docker = docker
        self.runs = runs
        self.app = app
        self.release = release.version
        self.logger = logger
        spec = ContainerSpec.runningOnce(
            request.command, name: "mini-\(app)-run-\(String(repeating: "0", count: 6 - suffix.count))\(suffix)",
            image: release.image, env: ContainerSpec.environment(environment, port: release.containerPort),
            labels: [
                ContainerLabel.installation: installation.id, ContainerLabel.oneOff: app.rawValue,
                ContainerLabel.oneOffOwner: runs.owner, ContainerLabel.release: String(release.version),
            ],
            memoryLimit: release.memoryBytes, nanoCPUs: release.nanoCpus
        )
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
        tokenEnd: @escaping @Sendable () async -> FollowedStreamEnd?, write: (ByteBuffer) async throws -> Void
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
                        of: container ?? spec.name, stopping: stopping, into: &answer, write: write)
                    group.cancelAll()
                    return (end, try await group.next() ?? false)
                }
                if tokenEnded {
                    let status = end.exitCode.map { " (exit status \($0))" } ?? ""
                    end = RunEvent(
                        error: "the token of this request was revoked or expired: the command was stopped\(status)",
                        tokenEnded: true)
                } else if stopping() {
                    let status = end.exitCode.map { " (exit status \($0))" } ?? ""
                    end = RunEvent(error: "minid is stopping: the command was stopped\(status)", serverStopping: true)
                }
            }
            try answer.append(end)
            try await write(answer.take())
        } catch let error as DockerError {
            try? answer.append(
                RunEvent(error: "the Docker engine could not create the run's container: \(error.message)"))
            try? await write(answer.take())
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
    /// engine's error (the lines before it may still wait in `answer`).
    private func streamOutput(
        of id: String, stopping: () -> Bool, into answer: inout AnswerLines, write: (ByteBuffer) async throws -> Void
    ) async throws -> RunEvent {
        do {
            let status = try await docker.runToExit(
                id,
                // A stop asked for before the start found nothing to stop.
                started: { if stopping() { stop() } },
                onOutput: { chunks in
                    for chunk in chunks {
                        try answer.append(
                            RunEvent(stream: chunk.stream.rawValue, data: Data(chunk.bytes.readableBytesView)))
                        if answer.bytes >= Self.writeBytes { try await write(answer.take()) }
                    }
                    if answer.bytes > 0 { try await write(answer.take()) }
                })
            return RunEvent(exitCode: status)
        } catch let error as DockerError where error.code == .daemonUnreachable {
            return RunEvent(error: "the Docker engine stopped answering; the command's end is unknown")
        } catch let error as DockerError {
            return RunEvent(error: "the Docker engine could not run the command: \(error.message)")
        }
    }

    /// Stops the command (SIGTERM, SIGKILL after ``stopGraceSeconds``), from a task of its
    /// own: minid stops. Its output then ends, and ``run(stillWanted:stopping:write:)`` with it.
    @Sendable func stop() {
        Task { [docker, spec] in try? await docker.stopContainer(spec.name, timeout: Self.stopGraceSeconds) }
    }

    /// Stops the command (SIGTERM, SIGKILL after ``stopGraceSeconds``) if it still runs and
    /// removes its container, also when the request was cancelled.
    private func remove(_ container: String?) async {
        guard let container else { return }
        await docker.stopAndRemove(container, grace: Self.stopGraceSeconds)
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
