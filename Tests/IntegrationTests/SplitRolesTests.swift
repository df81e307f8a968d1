import Foundation
import Testing

/// The roles of `minid serve` run as separate processes on one data folder, as the systemd
/// units for bigger machines run them.
@Suite("separate roles, end to end", .serialized)
struct SplitRolesTests {
    @Test(
        "minid api, proxy and worker deploy and serve an app; the proxy's metrics port counts it; the api's reconciler recreates a lost instance"
    )
    func separateRoles() async throws {
        guard await dockerIsAvailable() else { return }
        let app = "split-\(UUID().uuidString.prefix(6).lowercased())"
        let minid = try MinidProcess(role: "api", [])
        let work = try TemporaryDirectory()
        defer { work.cleanup() }
        var roles: [Process] = []
        let metricsPort = try freePort()
        do {
            try await minid.waitUntilReady()
            roles.append(
                try minid.launchBeside([
                    "proxy", "--data-dir", minid.dataDirectory, "--port", String(minid.proxyPort),
                    "--metrics-port", String(metricsPort),
                ]))
            roles.append(
                try minid.launchBeside([
                    "worker", "--data-dir", minid.dataDirectory, "--name", "split-1", "--health-timeout", "20",
                ]))
            let folder = try copyExample("hello", into: work, as: app)
            let deploy = try await minid.mini(["deploy", folder.path, "--app", app])
            try #require(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
            let host = "\(app).localhost"
            #expect(try await SelfHealingTests.servesWithin(.seconds(5), minid: minid, host: host))

            // The proxy's own metrics port counts the app's requests, with the API's tokens.
            let metricsURL = "http://127.0.0.1:\(metricsPort)/metrics"
            let curl = URL(fileURLWithPath: "/usr/bin/curl")
            let metrics = try await run(curl, ["-fsS", "-H", "Authorization: Bearer \(minid.token)", metricsURL])
            #expect(
                metrics.stdout.contains(#"mini_proxy_requests_total{app="\#(app)",status="2xx"}"#), "\(metrics.stdout)")
            let anonymous = try await run(curl, ["-sS", "-o", "/dev/null", "-w", "%{http_code}", metricsURL])
            #expect(anonymous.stdout == "401", "\(anonymous.stdout)")

            let docker = URL(fileURLWithPath: "/usr/bin/docker")
            let victim = "mini-\(app)-v1-1"
            _ = try await run(docker, ["rm", "-f", victim])
            var recreated = false
            for _ in 0..<60 where !recreated {
                try await Task.sleep(for: .milliseconds(250))
                let state = try await run(docker, ["inspect", "-f", "{{.State.Running}}", victim])
                recreated = state.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
            }
            #expect(recreated, "the removed instance was not recreated")
            #expect(try await SelfHealingTests.servesWithin(.seconds(10), minid: minid, host: host))
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        // Each role stops cleanly on SIGTERM, as systemd stops it.
        for role in roles { role.terminate() }
        for role in roles {
            for _ in 0..<600 where role.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
            #expect(
                !role.isRunning && role.terminationStatus == 0,
                "minid \(role.arguments?.first ?? "") did not stop cleanly:\n\(minid.log())")
            if role.isRunning { kill(role.processIdentifier, SIGKILL) }
        }
        await minid.stop()
        await removeDockerResources(apps: [app])
    }
}
