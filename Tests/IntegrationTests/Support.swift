import Foundation
import Testing

/// The package's root folder, found from this file's path.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built binary of this package (`swift build` runs before the tests).
func binary(_ name: String) -> URL {
    packageRoot.appendingPathComponent(".build/debug/\(name)")
}

/// The result of a finished process.
struct ProcessResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `executable` with `arguments` (no shell) and waits for it, with a time limit.
func run(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:],
    timeout: Duration = .seconds(180)
) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdoutFile = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
    let stderrFile = FileManager.default.temporaryDirectory.appendingPathComponent("err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: stdoutFile)
        try? FileManager.default.removeItem(at: stderrFile)
    }
    process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
    process.standardError = try FileHandle(forWritingTo: stderrFile)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            Issue.record("\(executable.lastPathComponent) \(arguments) ran longer than \(timeout)")
            break
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    )
}

/// Whether a Docker engine answers. Without one, tests fail when `MINI_REQUIRE_DOCKER=1`
/// (as in CI) and are skipped with a printed reason otherwise.
func dockerIsAvailable() async -> Bool {
    let result = try? await run(
        URL(fileURLWithPath: "/usr/bin/curl"),
        ["-fsS", "--max-time", "3", "--unix-socket", "/var/run/docker.sock", "http://docker/_ping"],
        timeout: .seconds(10)
    )
    if result?.stdout == "OK" { return true }
    if ProcessInfo.processInfo.environment["MINI_REQUIRE_DOCKER"] == "1" {
        Issue.record("the Docker engine does not answer on /var/run/docker.sock and MINI_REQUIRE_DOCKER=1")
    } else {
        print("SKIPPED: the Docker engine does not answer on /var/run/docker.sock (run deploy/setup-host.sh)")
    }
    return false
}

/// A free TCP port on 127.0.0.1 (free a moment ago).
func freePort() throws -> Int {
    try HeldPort().port
}

/// A TCP listener on 127.0.0.1, on a free port, held until it is released.
final class HeldPort {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 1) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard listening else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}

/// A temporary folder, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init(_ prefix: String = "mini-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Copies examples/<name> (with busybox) into a temporary folder, for a test to change.
func copyExample(_ name: String, into directory: TemporaryDirectory, as folder: String) throws -> URL {
    let source = packageRoot.appendingPathComponent("examples/\(name)")
    let destination = directory.url.appendingPathComponent(folder)
    try FileManager.default.copyItem(at: source, to: destination)
    let busybox = destination.appendingPathComponent("busybox")
    if !FileManager.default.fileExists(atPath: busybox.path) {
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: busybox.path)
    }
    return destination
}

/// Polls `condition` every 50 ms until it holds, failing after `timeout`.
func waitUntil(
    timeout: Duration = .seconds(5), _ condition: () async throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("the condition did not hold within \(timeout)", sourceLocation: sourceLocation)
}
