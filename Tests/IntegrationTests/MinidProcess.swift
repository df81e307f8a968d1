import Foundation
import Testing

/// A real `minid serve` on free ports with its own data folder, for one test.
final class MinidProcess {
    let data: TemporaryDirectory
    let apiPort: Int
    let proxyPort: Int
    private(set) var process: Process
    private let logFile: URL
    private let arguments: [String]

    /// The admin token minid created on first start.
    private(set) var token = ""

    var apiURL: String { "http://127.0.0.1:\(apiPort)" }

    /// The `--data-dir` minid runs on.
    var dataDirectory: String { data.url.appendingPathComponent("data").path }

    convenience init(workers: Int = 2, extraArguments: [String] = []) throws {
        try self.init(role: "serve", ["--workers", String(workers), "--health-timeout", "20"] + extraArguments)
    }

    /// `minid <role>` (`serve` or `api`) with its data folder, API and proxy ports, and
    /// `arguments`.
    init(role: String, _ arguments: [String]) throws {
        data = try TemporaryDirectory("minid")
        apiPort = try freePort()
        proxyPort = try freePort()
        logFile = data.url.appendingPathComponent("minid.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        self.arguments =
            [
                role, "--data-dir", data.url.appendingPathComponent("data").path,
                "--api-port", String(apiPort), "--proxy-port", String(proxyPort),
            ] + arguments
        process = try Self.launch(arguments: self.arguments, log: logFile)
    }

    /// Starts another `minid` (another role on the same data folder), logging beside this one.
    func launchBeside(_ arguments: [String]) throws -> Process {
        try Self.launch(arguments: arguments, log: logFile)
    }

    private static func launch(arguments: [String], log: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary("minid")
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    /// The pid of its first worker process (`minid worker --name worker-1`), nil while none runs.
    func workerPID() async throws -> Int32? {
        let found = try await run(
            URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", "minid worker --name worker-1 --data-dir \(dataDirectory)"])
        return Int32(found.stdout.split(separator: "\n").first ?? "")
    }

    /// Stops minid with `signal` (SIGKILL: its workers follow it; SIGTERM: they hand their
    /// jobs back first) and starts it again on the same data folder and ports.
    func killAndRestart(signal: Int32 = SIGKILL) async throws {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        process = try Self.launch(arguments: arguments, log: logFile)
        try await waitUntilReady()
    }

    /// Stops minid with SIGTERM, runs `between` (which may change its data folder), then
    /// starts it again on the same folder and ports.
    func stopThenStart(_ between: () async throws -> Void) async throws {
        process.terminate()
        process.waitUntilExit()
        try await between()
        process = try Self.launch(arguments: arguments, log: logFile)
        try await waitUntilReady()
    }

    /// Waits until the API answers and reads the admin token.
    func waitUntilReady() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            let health = try await run(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-fsS", "--max-time", "1", "\(apiURL)/healthz"],
                timeout: .seconds(5)
            )
            let tokenPath = dataDirectory + "/admin.token"
            if health.status == 0, let token = try? String(contentsOfFile: tokenPath, encoding: .utf8) {
                self.token = token.trimmingCharacters(in: .whitespacesAndNewlines)
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("minid did not get ready; its log:\n\(log())")
        throw CancellationError()
    }

    /// What minid printed so far.
    func log() -> String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// Runs the real `mini` CLI against this minid.
    func mini(_ arguments: [String], timeout: Duration = .seconds(180)) async throws -> ProcessResult {
        try await run(binary("mini"), arguments, environment: miniEnvironment, timeout: timeout)
    }

    /// What `mini` needs to talk to this minid: its URL, the admin token, a config folder.
    var miniEnvironment: [String: String] {
        [
            "MINI_HOST": apiURL, "MINI_TOKEN": token,
            "XDG_CONFIG_HOME": data.url.appendingPathComponent("config").path,
        ]
    }

    /// GET through the proxy with `Host: <host>`, by curl: (status code, body).
    func getThroughProxy(host: String, path: String = "/") async throws -> (Int, String) {
        try await curlGet(["-H", "Host: \(host)", "http://127.0.0.1:\(proxyPort)\(path)"])
    }

    /// GET `path` from the API by curl, with the admin token unless `authenticated` is false:
    /// (status code, body).
    func getFromAPI(_ path: String, authenticated: Bool = true) async throws -> (Int, String) {
        let authorization = authenticated ? ["-H", "Authorization: Bearer \(token)"] : []
        return try await curlGet(authorization + ["\(apiURL)\(path)"])
    }

    /// curl with `arguments` (headers and the URL): (status code, body).
    private func curlGet(_ arguments: [String]) async throws -> (Int, String) {
        let result = try await run(
            URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "5", "-w", "\n%{http_code}"] + arguments,
            timeout: .seconds(10)
        )
        var lines = result.stdout.components(separatedBy: "\n")
        let code = Int(lines.popLast() ?? "") ?? 0
        return (code, lines.joined(separator: "\n"))
    }

    /// Stops minid with SIGTERM, as systemd does, and checks that it stopped cleanly: exit
    /// status 0 and no error printed by it or its workers (SIGKILL after 60 s).
    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        if process.isRunning {
            process.terminate()
            // Workers finish retiring old releases first: up to the drain timeout and docker stop's grace.
            for _ in 0..<600 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("minid did not stop within 60 s of SIGTERM", sourceLocation: sourceLocation)
            } else {
                let errors = log().split(separator: "\n").filter { $0.hasPrefix("Error:") }
                #expect(
                    process.terminationReason == .exit && process.terminationStatus == 0 && errors.isEmpty,
                    "minid did not stop cleanly on SIGTERM (status \(process.terminationStatus)): \(errors)",
                    sourceLocation: sourceLocation)
            }
        }
        data.cleanup()
    }
}

/// Removes the containers (instances and one-offs) and image tags of `apps` from the engine.
/// By tag, not by image id: apps built from the same folder share an image, and another
/// test's app (or another run's) may still use it; an image goes with its last tag.
func removeDockerResources(apps: [String]) async {
    for app in apps {
        let ids = await containers(labelled: "mini.app=\(app)") + containers(labelled: "mini.run=\(app)")
        if !ids.isEmpty { _ = try? await run(URL(fileURLWithPath: "/usr/bin/docker"), ["rm", "-f"] + ids) }
        let images = try? await run(
            URL(fileURLWithPath: "/usr/bin/docker"), ["images", "--format", "{{.Repository}}:{{.Tag}}", "mini/\(app)"]
        )
        for tag in Set((images?.stdout ?? "").split(separator: "\n").map(String.init)).sorted() {
            _ = try? await run(URL(fileURLWithPath: "/usr/bin/docker"), ["rmi", tag])
        }
    }
}

/// The ids of the engine's containers, running or not, that carry `label` (`key=value`).
func containers(labelled label: String) async -> [String] {
    let listed = try? await run(URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "-aq", "--filter", "label=\(label)"])
    return (listed?.stdout ?? "").split(separator: "\n").map(String.init)
}

/// Runs `body` against a fresh, ready `minid` with a fresh app name (`<prefix>-xxxxxx`) and
/// work folder; records any error with minid's log, then stops minid and removes the app's
/// containers and images. Without a Docker engine it returns at once (see
/// ``dockerIsAvailable()``).
func withMinid(
    app prefix: String, workers: Int = 2, extraArguments: [String] = [],
    _ body: (_ minid: MinidProcess, _ app: String, _ work: TemporaryDirectory) async throws -> Void
) async throws {
    guard await dockerIsAvailable() else { return }
    let app = "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())"
    let minid = try MinidProcess(workers: workers, extraArguments: extraArguments)
    let work = try TemporaryDirectory()
    defer { work.cleanup() }
    do {
        try await minid.waitUntilReady()
        try await body(minid, app, work)
    } catch {
        Issue.record("\(error)\nminid log:\n\(minid.log())")
    }
    await minid.stop()
    await removeDockerResources(apps: [app])
}
