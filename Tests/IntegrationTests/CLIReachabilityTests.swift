import Foundation
import Testing

/// `mini` when its server is not there.
@Suite("mini without a server")
struct CLIReachabilityTests {
    @Test("a stopped server is reported at once, with exit 3 and what to do, by plain calls and by a deploy")
    func serverNotRunning() async throws {
        let host = "http://127.0.0.1:\(try freePort())"
        let config = try TemporaryDirectory()
        defer { config.cleanup() }
        let environment = ["MINI_HOST": host, "MINI_TOKEN": "some-token", "XDG_CONFIG_HOME": config.url.path]
        let hello = packageRoot.appendingPathComponent("examples/hello").path
        for arguments in [["apps"], ["status", "1", "--wait"], ["deploy", hello, "--app", "hello"]] {
            let started = ContinuousClock.now
            let result = try await run(binary("mini"), arguments, environment: environment, timeout: .seconds(60))
            let took = ContinuousClock.now - started
            #expect(result.status == 3, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("cannot reach \(host): connection refused"), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("mini config set-host"), "\(arguments): \(result.stderr)")
            // A refused connection is not retried until a connect timeout (it was, for 30 s).
            #expect(took < .seconds(3), "\(arguments) took \(took)")
        }
    }
}
