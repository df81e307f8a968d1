import Foundation
import Testing

/// Apps come back without any command after minid is SIGKILLed and after dockerd restarts.
@Suite("self-healing, end to end", .serialized)
struct SelfHealingTests {
    @Test("after SIGKILL of minid and after a dockerd restart every app serves again within 10 s")
    func survivesRestarts() async throws {
        guard await dockerIsAvailable() else { return }
        let apps = [
            "heal-\(UUID().uuidString.prefix(6).lowercased())", "heal-\(UUID().uuidString.prefix(6).lowercased())",
        ]
        let minid = try MinidProcess()
        let work = try TemporaryDirectory()
        defer { work.cleanup() }
        do {
            try await minid.waitUntilReady()
            for app in apps {
                let folder = try copyExample("hello", into: work, as: app)
                let deploy = try await minid.mini(["deploy", folder.path, "--app", app])
                try #require(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
            }

            // A follower of the logs learns that the server went away: exit 3, not "failed".
            let (mini, environment, followed) = (binary("mini"), minid.miniEnvironment, apps[0])
            let follower = Task {
                try await run(mini, ["logs", followed, "-f"], environment: environment, timeout: .seconds(60))
            }
            try await Task.sleep(for: .seconds(1))
            try await minid.killAndRestart()
            let follow = try await follower.value
            #expect(follow.status == 3, "\(follow.stderr)")
            #expect(follow.stderr.contains("broke"), "\(follow.stderr)")
            for app in apps {
                #expect(
                    try await Self.servesWithin(.seconds(10), minid: minid, host: "\(app).localhost"),
                    "\(app) after SIGKILL")
            }

            let restart = try await run(
                URL(fileURLWithPath: "/usr/bin/env"), ["bash", packageRoot.path + "/deploy/restart-dockerd.sh"])
            try #require(restart.status == 0, "dockerd restart failed: \(restart.stderr)")
            for app in apps {
                #expect(
                    try await Self.servesWithin(.seconds(10), minid: minid, host: "\(app).localhost"),
                    "\(app) after dockerd restart")
            }
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
        await removeDockerResources(apps: apps)
    }

    static func servesWithin(_ limit: Duration, minid: MinidProcess, host: String) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if try await minid.getThroughProxy(host: host).0 == 200 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}
