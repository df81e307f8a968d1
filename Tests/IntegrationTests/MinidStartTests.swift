import Foundation
import Testing

/// How `minid` starts when it cannot.
@Suite("minid start-up")
struct MinidStartTests {
    @Test(
        "a port in use stops minid serve at once, naming the address, the listener and the option, before the banner",
        arguments: ["--api-port", "--proxy-port"]
    )
    func portInUse(option: String) async throws {
        let held = try HeldPort()
        let data = try TemporaryDirectory()
        defer { data.cleanup() }
        var ports = ["--api-port": String(try freePort()), "--proxy-port": String(try freePort())]
        ports[option] = String(held.port)
        let started = ContinuousClock.now
        let result = try await run(
            binary("minid"),
            ["serve", "--data-dir", data.url.path, "--workers", "0"] + ports.flatMap { [$0.key, $0.value] },
            timeout: .seconds(30)
        )
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let listener = option == "--api-port" ? "the API" : "the proxy"
        #expect(
            result.stderr.contains("127.0.0.1:\(held.port), where \(listener) listens, is in use"), "\(result.stderr)")
        #expect(result.stderr.contains("choose another port with \(option)"), "\(result.stderr)")
        #expect(!result.stdout.contains("mini is running"), "\(result.stdout)")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("minid serve --workers 0 runs the API and the proxy alone, and stops cleanly")
    func withoutWorkers() async throws {
        let minid = try MinidProcess(workers: 0)
        try await minid.waitUntilReady()
        let apps = try await minid.mini(["apps", "--json"])
        #expect(apps.status == 0, "\(apps.stderr)")
        // Let a supervisor that returned at once have ended the service group.
        try await Task.sleep(for: .milliseconds(500))
        #expect(minid.process.isRunning, "minid ended: \(minid.log())")
        await minid.stop()
    }

    @Test("a second minid serve on the same data folder stops at once, naming the first one's pid")
    func secondServeOnOneFolder() async throws {
        let first = try MinidProcess(workers: 0)
        try await first.waitUntilReady()
        let second = try await run(
            binary("minid"),
            [
                "serve", "--data-dir", first.dataDirectory, "--workers", "0",
                "--api-port", String(try freePort()), "--proxy-port", String(try freePort()),
            ],
            timeout: .seconds(30)
        )
        #expect(second.status == 1, "\(second.stdout)\(second.stderr)")
        #expect(
            second.stderr.contains("another minid serve (pid \(first.process.processIdentifier)) runs on"),
            "\(second.stderr)")
        #expect(!second.stdout.contains("mini is running"), "\(second.stdout)")
        await first.stop()
    }
}
