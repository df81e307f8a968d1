import Foundation
import MiniCore
import Testing

/// The walking skeleton end to end: the real `minid serve`, the real `mini`, the real engine.
@Suite("mini deploy, end to end", .serialized)
struct DeployTests {
    @Test("deploy sync, redeploy async, a failing build keeps the old release serving")
    func deployRedeployAndFailedBuild() async throws {
        guard await dockerIsAvailable() else { return }
        await removeDockerResources(apps: ["hello"])
        let minid = try MinidProcess()
        let work = try TemporaryDirectory()
        defer { work.cleanup() }
        do {
            try await minid.waitUntilReady()
            let versions = try await minid.mini(["version"])
            #expect(versions.stdout == "mini \(MiniVersion.current)\nminid \(MiniVersion.current)\n", "\(versions)")
            let first = try copyExample("hello", into: work, as: "hello")

            // 1. A synchronous deploy follows the build log and exits 0 once v1 serves.
            let deploy = try await minid.mini(["deploy", first.path])
            #expect(deploy.status == 0, "mini deploy failed:\n\(deploy.stdout)\n\(deploy.stderr)\n\(minid.log())")
            #expect(deploy.stdout.contains("Step 1/"), "the build log was not followed:\n\(deploy.stdout)")
            let port = try #require(
                deploy.stdout.firstMatch(of: /is healthy on 127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) })
            #expect((20000...29999).contains(port), "instances are published below the ephemeral range")
            var (status, body) = try await minid.getThroughProxy(host: "hello.localhost")
            #expect(status == 200)
            #expect(body.contains("Hello from mini"))

            // An image an earlier attempt left under the next release's tag (its worker died):
            // the next build must not leave it nameless and kept forever.
            let leftover = try copyExample("hello", into: work, as: "leftover")
            try "FROM scratch\nCOPY busybox /bin/busybox\nLABEL leftover=1\n".write(
                to: leftover.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
            let docker = URL(fileURLWithPath: "/usr/bin/docker")
            let leftoverBuild = try await run(docker, ["build", "-q", "-t", "mini/hello:v2", leftover.path])
            let leftoverID = leftoverBuild.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(leftoverBuild.status == 0 && !leftoverID.isEmpty, "\(leftoverBuild.stderr)")

            // 2. An asynchronous deploy of a changed copy prints only the job id.
            let second = try copyExample("hello", into: work, as: "hello-v2")
            try "<h1>Second release</h1>\n".write(
                to: second.appendingPathComponent("www/index.html"), atomically: false, encoding: .utf8
            )
            let queued = try await minid.mini(["deploy", second.path, "--app", "hello", "--async"])
            #expect(queued.status == 0, "\(queued.stderr)")
            let job = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Int(job) != nil, "--async must print only the job id, printed: \(queued.stdout)")
            let waited = try await minid.mini(["status", job, "--wait"])
            #expect(waited.status == 0, "job \(job) did not succeed:\n\(waited.stdout)\n\(waited.stderr)")
            let shown = try await minid.mini(["status", job, "--json"])
            #expect(shown.stdout.contains("\"succeeded\""))
            (status, body) = try await minid.getThroughProxy(host: "hello.localhost")
            #expect(status == 200)
            #expect(body.contains("Second release"), "the proxy still serves: \(body)")
            let kept = try await run(docker, ["image", "inspect", leftoverID])
            #expect(kept.status != 0, "the leftover image \(leftoverID) is still there")

            // 3. A build that fails ends `failed` with its error in the log; v2 keeps serving.
            let broken = try copyExample("hello", into: work, as: "broken")
            try "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"false\"]\n".write(
                to: broken.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8
            )
            let failed = try await minid.mini(["deploy", broken.path, "--app", "hello"])
            #expect(failed.status == 1, "a failed build must exit 1:\n\(failed.stdout)\n\(failed.stderr)")
            let jobs = try await minid.mini(["jobs", "--app", "hello", "--state", "failed", "--json"])
            let failedJob = try #require(
                try JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8)) as? [String: Any]
            )
            let failedID = try #require((failedJob["jobs"] as? [[String: Any]])?.first?["id"] as? Int)
            let buildLog = try await minid.mini(["logs", "--build", String(failedID)])
            #expect(buildLog.status == 0)
            #expect(buildLog.stdout.contains("returned a non-zero code"), "build log:\n\(buildLog.stdout)")
            (status, body) = try await minid.getThroughProxy(host: "hello.localhost")
            #expect(status == 200)
            #expect(body.contains("Second release"))

            // An unknown host gets 404 naming no app.
            (status, body) = try await minid.getThroughProxy(host: "nothing.localhost")
            #expect(status == 404)
            #expect(!body.contains("hello"))

            // /metrics needs the token, and counts the jobs and the proxy's answers and latency.
            (status, _) = try await minid.getFromAPI("/metrics", authenticated: false)
            #expect(status == 401)
            let metrics: String
            (status, metrics) = try await minid.getFromAPI("/metrics")
            #expect(status == 200)
            for line in [
                "mini_jobs{state=\"succeeded\"} 2", "mini_jobs{state=\"failed\"} 1", "mini_queue_depth 0",
                "mini_job_duration_seconds_count 3", "mini_proxy_requests_total{app=\"hello\",status=\"2xx\"} 3",
                "mini_proxy_requests_total{app=\"\",status=\"4xx\"} 1",
                "mini_proxy_request_duration_seconds_count{app=\"hello\"} 3",
                "mini_proxy_request_duration_seconds_bucket{app=\"hello\",le=\"+Inf\"} 3",
            ] {
                #expect(metrics.contains(line + "\n"), "\(line) is missing from /metrics:\n\(metrics)")
            }

            // A custom domain serves the app as soon as it is added, and stops when removed.
            let added = try await minid.mini(["domains", "add", "hello", "www.hello.test"])
            #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
            #expect(added.stdout.contains("at http://www.hello.test:\(minid.proxyPort) too"), "\(added.stdout)")
            let invalid = try await minid.mini(["domains", "add", "hello", "not a domain"])
            #expect(invalid.status == 2, "a bad host name is a usage error")
            // A bad app name is refused before any call, with the usage of the command given.
            let badApp = try await minid.mini(["scale", "Hello", "2"])
            #expect(badApp.status == 2, "a bad app name is a usage error")
            #expect(
                badApp.stderr.contains("lowercase") && badApp.stderr.contains("Usage: mini scale <app>"),
                "\(badApp.stderr)")
            try await waitUntil { try await minid.getThroughProxy(host: "www.hello.test").0 == 200 }
            (status, body) = try await minid.getThroughProxy(host: "www.hello.test")
            #expect(body.contains("Second release"))
            let listed = try await minid.mini(["domains", "hello"])
            #expect(listed.stdout.contains("www.hello.test"))
            let removed = try await minid.mini(["domains", "remove", "hello", "www.hello.test"])
            #expect(removed.status == 0, "\(removed.stderr)")
            try await waitUntil { try await minid.getThroughProxy(host: "www.hello.test").0 == 404 }

            // A restart replaces the instance with a fresh one of the same code, as a release.
            let restarted = try await minid.mini(["restart", "hello"])
            #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
            #expect(restarted.stdout.contains("hello is now at v3"), "\(restarted.stdout)")
            #expect(try await minid.mini(["apps", "info", "hello"]).stdout.contains("mini-hello-v3-1"))
            try await waitUntil(timeout: .seconds(20)) {
                try await !minid.mini(["apps", "info", "hello"]).stdout.contains("mini-hello-v2-1")
            }
            (status, body) = try await minid.getThroughProxy(host: "hello.localhost")
            #expect(body.contains("Second release"))
            let releases = try await minid.mini(["releases", "hello"])
            #expect(releases.stdout.contains("restart"), "\(releases.stdout)")
            let none = try await minid.mini(["restart", "nosuchapp"])
            #expect(none.status == 1, "\(none.stderr)")

            // A token for CI, made on the server, works at once and stops working when revoked.
            let dataDir = ["--data-dir", minid.dataDirectory]
            let badName = try await run(binary("minid"), ["tokens", "create", "Bad Name"] + dataDir)
            #expect(badName.status == 64 && badName.stderr.contains("Usage: minid tokens create"), "\(badName)")
            let created = try await run(binary("minid"), ["tokens", "create", "ci"] + dataDir)
            #expect(created.status == 0, "\(created.stderr)")
            let ciToken = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(
                ciToken.hasPrefix("mini_") && !ciToken.contains("\n"), "only the token on stdout: \(created.stdout)")
            var ciEnvironment = minid.miniEnvironment
            ciEnvironment["MINI_TOKEN"] = ciToken
            let asCI = try await run(binary("mini"), ["apps"], environment: ciEnvironment)
            #expect(asCI.status == 0 && asCI.stdout.contains("hello"), "\(asCI.stdout)\(asCI.stderr)")
            let tokenList = try await run(binary("minid"), ["tokens", "list"] + dataDir)
            #expect(
                tokenList.stdout.contains("admin") && tokenList.stdout.contains("ci")
                    && !tokenList.stdout.contains(ciToken))
            // Its followed log ends within seconds of the revoke, with exit 4.
            async let followed = run(binary("mini"), ["logs", "-f", "hello"], environment: ciEnvironment)
            try await Task.sleep(for: .seconds(1))
            #expect(try await run(binary("minid"), ["tokens", "revoke", "ci"] + dataDir).status == 0)
            let revoked = try await run(binary("mini"), ["apps"], environment: ciEnvironment)
            #expect(revoked.status == 4, "a revoked token gets exit 4: \(revoked.stderr)")
            let ended = try await followed
            #expect(ended.status == 4 && ended.stderr.contains("the token was revoked"), "\(ended)")

            // A token for preview apps only: it sees and touches no other app (exit 4, saying why).
            for bad in [["--app", "PR_*"], ["--expires", "tomorrow"], ["--expires", "2020-01-01T00:00:00Z"]] {
                let refused = try await run(binary("minid"), ["tokens", "create", "bad"] + bad + dataDir)
                #expect(refused.status == 64, "\(bad): \(refused)")
            }
            let previews = try await run(
                binary("minid"), ["tokens", "create", "previews", "--app", "pr-*", "--expires", "1h"] + dataDir)
            #expect(previews.status == 0 && previews.stderr.contains("for apps matching pr-*, until"), "\(previews)")
            var previewEnvironment = minid.miniEnvironment
            previewEnvironment["MINI_TOKEN"] = previews.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let previewApps = try await run(binary("mini"), ["apps", "--json"], environment: previewEnvironment)
            #expect(previewApps.status == 0 && !previewApps.stdout.contains("hello"), "\(previewApps)")
            let other = try await run(binary("mini"), ["env", "hello"], environment: previewEnvironment)
            #expect(
                other.status == 4 && other.stderr.contains("may act only on apps matching pr-*, not hello"), "\(other)")
            let whoami = try await run(binary("mini"), ["whoami"], environment: previewEnvironment)
            #expect(
                whoami.status == 0 && whoami.stdout.hasPrefix("previews\napps:    pr-*\nexpires: 20"), "\(whoami)")
            let scoped = try await run(binary("minid"), ["tokens", "list"] + dataDir)
            #expect(scoped.stdout.split(separator: "\n").contains { $0.hasPrefix("previews") && $0.hasSuffix("pr-*") })
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
        await removeDockerResources(apps: ["hello"])
    }

    @Test(
        "--dockerfile builds with another Dockerfile of the folder; a lowercase dockerfile is found as docker build finds it"
    )
    func otherDockerfiles() async throws {
        try await withMinid(app: "dockerfile") { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            let files = FileManager.default
            try files.createDirectory(at: folder.appendingPathComponent("deploy"), withIntermediateDirectories: true)
            try files.moveItem(
                at: folder.appendingPathComponent("Dockerfile"),
                to: folder.appendingPathComponent("deploy/Dockerfile.prod"))
            let missing = try await minid.mini(["deploy", folder.path, "--app", app])
            #expect(missing.status == 2 && missing.stderr.contains("or give --dockerfile"), "\(missing)")
            let outside = try await minid.mini(["deploy", folder.path, "--app", app, "--dockerfile", "../Dockerfile"])
            #expect(outside.status == 2 && outside.stderr.contains("relative to the folder"), "\(outside)")
            let aFolder = try await minid.mini(["deploy", folder.path, "--app", app, "--dockerfile", "deploy"])
            #expect(aFolder.status == 2 && aFolder.stderr.contains("is no file the build context holds"), "\(aFolder)")

            let named = try await minid.mini(
                ["deploy", folder.path, "--app", app, "--dockerfile", "./deploy/Dockerfile.prod", "--json"])
            #expect(named.status == 0, "\(named)")
            let accepted = try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [String: Any]
            #expect((accepted?["job"] as? [String: Any])?["dockerfile"] as? String == "deploy/Dockerfile.prod")
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").0 == 200)

            try files.moveItem(
                at: folder.appendingPathComponent("deploy/Dockerfile.prod"),
                to: folder.appendingPathComponent("dockerfile"))
            let lowercase = try await minid.mini(["deploy", folder.path, "--app", app])
            #expect(lowercase.status == 0, "\(lowercase)")
            #expect(lowercase.stdout.contains("deployed \(app) v2"), "\(lowercase.stdout)")
        }
    }
}
