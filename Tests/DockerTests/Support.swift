import Docker
import Foundation
import Logging
import Testing

/// A client for the engine on `MINI_DOCKER_SOCKET` (default `/var/run/docker.sock`), or nil
/// with the reason printed when it does not answer (a skip), unless `MINI_REQUIRE_DOCKER=1`,
/// which makes that a failure.
func engine() async throws -> DockerClient? {
    let environment = ProcessInfo.processInfo.environment
    let docker = DockerClient(
        socketPath: environment["MINI_DOCKER_SOCKET"] ?? "/var/run/docker.sock",
        logger: Logger(label: "mini.docker.tests")
    )
    do {
        _ = try await docker.ping()
        return docker
    } catch {
        if environment["MINI_REQUIRE_DOCKER"] == "1" {
            throw error
        }
        print(
            "skipping: the Docker engine does not answer (\(error)); MINI_REQUIRE_DOCKER=1 makes this fail"
        )
        return nil
    }
}

/// Runs `body` with a ``TestScope`` on the engine, then removes every container and image the
/// scope labelled, whether `body` succeeded or not. Skips when the engine does not answer.
func withDocker(_ body: (TestScope) async throws -> Void) async throws {
    guard let docker = try await engine() else { return }
    let scope = try TestScope(docker: docker)
    do {
        try await body(scope)
    } catch {
        await scope.cleanUp()
        throw error
    }
    await scope.cleanUp()
}

/// One test's things on the engine: all carry the label `mini.test=<id>`.
struct TestScope {
    let docker: DockerClient
    let id = UUID().uuidString.lowercased()
    let directory: URL

    init(docker: DockerClient) throws {
        self.docker = docker
        self.directory = FileManager.default.temporaryDirectory.appending(
            path: "mini-docker-test-\(id)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var labels: [String: String] { ["mini.test": id] }
    var labelFilter: String { "mini.test=\(id)" }
    var tag: String { "mini-test/\(id):latest" }

    /// A Dockerfile for a scratch image with busybox: `FROM scratch`, the test's label (which
    /// also keeps other tests' build cache away), busybox, then `instructions`.
    func dockerfile(_ instructions: String...) -> String {
        (["FROM scratch", "LABEL mini.test=\(id)", "COPY busybox /bin/busybox"] + instructions)
            .joined(separator: "\n") + "\n"
    }

    /// A gzip'd build context made by GNU tar, with /bin/busybox, the `Dockerfile` if given and
    /// `files` (relative path → content). Returns the path of the tar.gz.
    func context(dockerfile: String?, files: [String: String] = [:]) throws -> String {
        let root = directory.appending(path: "context-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: "/bin/busybox", toPath: root.appending(path: "busybox").path)
        var files = files
        files["Dockerfile"] = dockerfile
        for (path, content) in files {
            let file = root.appending(path: path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try Data(content.utf8).write(to: file)
        }
        let archive = root.path + ".tar.gz"
        try run("/usr/bin/tar", "-czf", archive, "-C", root.path, ".")
        return archive
    }

    /// Builds `dockerfile` (with `files`) tagged ``tag`` and returns the image id.
    func build(dockerfile: String, files: [String: String] = [:]) async throws -> String {
        try await docker.build(
            contextFile: try context(dockerfile: dockerfile, files: files),
            tag: tag,
            labels: labels,
            onOutput: { _ in }
        )
    }

    /// Removes the scope's containers, images and files; tolerates what is already gone.
    func cleanUp() async {
        do {
            for container in try await docker.listContainers(labels: labels, all: true) {
                try await docker.removeContainer(container.id, force: true, ignoreMissing: true)
            }
            // A failed build leaves an untagged image per finished step; removing the newest
            // removes its untagged parents, so a few rounds empty any chain.
            for _ in 0..<3 {
                let images = try await docker.listImages(labels: labels)
                if images.isEmpty { break }
                for image in images {
                    try? await docker.removeImage(image.id, force: true, ignoreMissing: true)
                }
            }
        } catch {
            print("cleanup of mini.test=\(id) failed: \(error)")
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs a program (no shell) and returns its standard output; throws when it fails.
@discardableResult
func run(_ executable: String, _ arguments: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailed(command: [executable] + arguments, status: process.terminationStatus)
    }
    return String(decoding: data, as: UTF8.self)
}

struct CommandFailed: Error {
    var command: [String]
    var status: Int32
}

/// The result of `body`, or a failure when it takes longer than `seconds`.
func withTimeout<T: Sendable>(
    seconds: Double,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(seconds: seconds)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

struct TimedOut: Error {
    var seconds: Double
}

/// Polls `condition` every 100 ms until it holds; false if it did not within `seconds`.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// All the elements of a finite sequence.
func collect<Elements: AsyncSequence>(_ elements: Elements) async throws -> [Elements.Element] {
    var collected: [Elements.Element] = []
    for try await element in elements {
        collected.append(element)
    }
    return collected
}
