import Docker
import Foundation
import MiniCore
import NIOCore
import Store

/// A one-off command in a new container of a release (`mini run`): the release's image,
/// environment (with `PORT`, and the run's own variables on top) and limits; no published
/// port, no restart, an init process that passes signals on. Labelled as a one-off of
/// `owner`, which the reconciler of the same process leaves alone while its run lasts.
struct OneOffRun: Sendable {
    let docker: DockerClient
    let spec: ContainerSpec
    let release: Int

    /// How much output the engine keeps in its log files (`docker logs` of the container).
    static let logRotation = ContainerSpec.LogRotation(maxFileBytes: 10 << 20, maxFiles: 3)
    /// The most bytes of answer lines gathered for one write.
    static let writeBytes = 64 << 10

    init(docker: DockerClient, app: AppName, release: ReleaseRecord, request: RunRequest, owner: OneOffOwner) {
        var environment = release.environment.merging(request.env) { _, runs in runs }
        environment["PORT"] = String(release.containerPort)
        let suffix = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        self.docker = docker
        self.release = release.version
        spec = ContainerSpec(
            name: "mini-\(app)-run-\(String(repeating: "0", count: 6 - suffix.count))\(suffix)",
            image: release.image, env: ContainerSpec.environment(environment),
            labels: [
                ContainerLabel.oneOff: app.rawValue, ContainerLabel.oneOffOwner: owner.rawValue,
                ContainerLabel.release: String(release.version),
            ],
            command: request.command, memoryLimit: release.memoryBytes, nanoCPUs: release.nanoCpus,
            restartPolicy: .none, runsInit: true, logRotation: Self.logRotation
        )
    }

    /// Creates the container, not started yet; ``run(container:write:)`` starts it.
    func create() async throws -> String {
        try await docker.createContainer(spec)
    }

    /// Starts the created container and writes the answer's lines (see ``RunEvent``): the
    /// container and release, its output as it comes (lines that arrive together in one
    /// write), then its exit status, or why it could not run to its end. Removes the
    /// container, also when the caller is cancelled (its client went away) or `write` fails.
    func run(container id: String, write: (ByteBuffer) async throws -> Void) async throws {
        var answer = AnswerLines()
        do {
            try answer.append(RunEvent(container: spec.name, release: release))
            try await write(answer.take())
            let end = try await streamOutput(of: id, into: &answer, write: write)
            try answer.append(end)
            try await write(answer.take())
        } catch {
            await remove(id)
            throw error
        }
        await remove(id)
    }

    /// Writes the output as it comes and returns the last event: the exit status, or the
    /// engine's error (the lines before it may still wait in `answer`).
    private func streamOutput(
        of id: String, into answer: inout AnswerLines, write: (ByteBuffer) async throws -> Void
    ) async throws -> RunEvent {
        do {
            var lines = try await docker.attachOutput(id).makeAsyncIterator()
            try await docker.startContainer(id)
            while let line = try await lines.next() {
                try answer.append(RunEvent(stream: line.stream.rawValue, text: line.text))
                if !lines.hasPending || answer.bytes >= Self.writeBytes { try await write(answer.take()) }
            }
            return RunEvent(exitCode: try await docker.waitForExit(id))
        } catch let error as DockerError where error.code == .daemonUnreachable {
            return RunEvent(error: "the Docker engine stopped answering; the command's end is unknown")
        } catch let error as DockerError {
            return RunEvent(error: "the Docker engine could not run the command: \(error.message)")
        }
    }

    /// Removes the container (killing the command if it still runs) from a task of its own,
    /// which a cancelled request does not cancel.
    private func remove(_ id: String) async {
        await Task { [docker] in
            try? await docker.removeContainer(id, force: true, ignoreMissing: true)
        }.value
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
