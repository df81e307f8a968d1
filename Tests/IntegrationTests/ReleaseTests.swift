import AsyncHTTPClient
import Foundation
import MiniCore
import NIOCore
import Testing

/// Releases with the real engine: zero-downtime redeploys, health gates, rollback, env,
/// scaling and self-healing.
@Suite("releases, end to end", .serialized)
struct ReleaseTests {
    /// An app that reports its env and container over CGI, on top of examples/hello; each
    /// request to it logs `info <query>`.
    static func makeInfoApp(in work: TemporaryDirectory, as folder: String, body: String) throws -> URL {
        let app = try copyExample("hello", into: work, as: folder)
        try body.write(to: app.appendingPathComponent("www/index.html"), atomically: false, encoding: .utf8)
        let cgi = app.appendingPathComponent("www/cgi-bin")
        try FileManager.default.createDirectory(at: cgi, withIntermediateDirectories: true)
        let script = cgi.appendingPathComponent("info")
        // The script frames its own body, so the app answers like most apps do.
        let source = """
            #!/bin/busybox sh
            echo "info $QUERY_STRING" >&2
            body="FOO=$FOO host=$HOSTNAME"
            echo 'Content-Type: text/plain'
            echo "Content-Length: $(( ${#body} + 1 ))"
            echo
            echo "$body"

            """
        try source.write(to: script, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        // A request that takes 3 s, to see that a redeploy lets it finish.
        let slow = cgi.appendingPathComponent("slow")
        try "#!/bin/busybox sh\n/bin/busybox sleep 3\necho 'Content-Type: text/plain'\necho\necho slow-done\n".write(
            to: slow, atomically: false, encoding: .utf8
        )
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: slow.path)
        return app
    }

    @Test("a redeploy under continuous load fails no request; bad releases never replace a good one")
    func zeroDowntimeAndHealthGate() async throws {
        try await withMinid(app: "zdt", extraArguments: ["--health-timeout", "8"]) { minid, app, work in
            let v1 = try Self.makeInfoApp(in: work, as: "v1", body: "one")
            let first = try await minid.mini(["deploy", v1.path, "--app", app])
            try #require(first.status == 0, "\(first.stdout)\(first.stderr)")

            // Requests flow through the proxy without pause while v2 replaces v1, and a slow
            // request to v1 finishes: v1 stops only once the proxy has nothing in flight to it.
            let load = Task { [port = minid.proxyPort] in try await Self.hammer(port: port, host: "\(app).localhost") }
            let slow = Task { [port = minid.proxyPort] in
                try await run(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    [
                        "-sS", "--max-time", "15", "-H", "Host: \(app).localhost",
                        "http://127.0.0.1:\(port)/cgi-bin/slow",
                    ],
                    timeout: .seconds(20)
                )
            }
            try await Task.sleep(for: .milliseconds(300))
            let v2 = try Self.makeInfoApp(in: work, as: "v2", body: "two")
            let second = try await minid.mini(["deploy", v2.path, "--app", app])
            #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
            try await Task.sleep(for: .seconds(1.5))
            load.cancel()
            let result = try await load.value
            #expect(result.failures == 0, "failed requests during the redeploy: \(result.failureSamples)")
            #expect(result.bodies.contains("one") && result.bodies.contains("two"), "bodies seen: \(result.bodies)")
            #expect(result.total > 50)
            let slowResult = try await slow.value
            #expect(
                slowResult.stdout.contains("slow-done"),
                "the slow request was cut by the redeploy: \(slowResult.stdout)\(slowResult.stderr)"
            )

            // A release that never answers fails after the health timeout; v2 keeps serving.
            let silent = try copyExample("hello", into: work, as: "silent")
            try "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"600\"]\n".write(
                to: silent.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8
            )
            let unhealthy = try await minid.mini(["deploy", silent.path, "--app", app])
            #expect(unhealthy.status == 1)
            #expect(unhealthy.stdout.contains("did not get healthy"), "\(unhealthy.stdout)")

            // A release that crashes at start fails with its last log lines; v2 keeps serving.
            let crashing = try copyExample("hello", into: work, as: "crashing")
            try
                "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo about to crash; exit 3\"]\n"
                .write(to: crashing.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
            let crashed = try await minid.mini(["deploy", crashing.path, "--app", app])
            #expect(crashed.status == 1)
            #expect(crashed.stdout.contains("exited with code 3"), "\(crashed.stdout)")
            #expect(crashed.stdout.contains("about to crash"), "\(crashed.stdout)")

            // An image the engine cannot start (no command) fails at the first attempt, saying
            // what to change; retrying would get the same answer.
            let commandless = try copyExample("hello", into: work, as: "commandless")
            try "FROM scratch\nCOPY busybox /bin/busybox\n".write(
                to: commandless.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
            let refused = try await minid.mini(["deploy", commandless.path, "--app", app])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("no CMD or ENTRYPOINT"), "\(refused.stdout)")
            #expect(!refused.stdout.contains("attempt 2"), "\(refused.stdout)")

            let (status, body) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(status == 200)
            #expect(body.contains("two"))
            let containers = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"),
                ["ps", "-a", "--format", "{{.Names}}", "--filter", "label=mini.app=\(app)"]
            )
            #expect(containers.stdout.split(separator: "\n").map(String.init) == ["mini-\(app)-v2-1"])
        }
    }

    @Test("the app's health check path gates its next release: a path it does not serve fails it, v1 keeps serving")
    func healthCheckPath() async throws {
        try await withMinid(app: "hc", extraArguments: ["--health-timeout", "3"]) { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            let first = try await minid.mini(["deploy", folder.path, "--app", app])
            try #require(first.status == 0, "\(first.stdout)\(first.stderr)")

            let set = try await minid.mini(["health", "set", app, "/missing"])
            #expect(set.status == 0 && set.stdout.contains("GET /missing"), "\(set)")
            let failed = try await minid.mini(["restart", app])
            #expect(failed.status == 1)
            #expect(failed.stdout.contains("GET /missing answered 404"), "\(failed.stdout)")
            let (status, _) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(status == 200, "v1 stopped serving after a failed health check")

            #expect(try await minid.mini(["health", "set", app, "/index.html"]).status == 0)
            let restarted = try await minid.mini(["restart", app])
            #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
            let info = try await minid.mini(["apps", "info", app])
            #expect(info.stdout.contains("health     GET /index.html"), "\(info.stdout)")
            let reset = try await minid.mini(["health", "reset", app])
            #expect(reset.status == 0 && reset.stdout.contains("GET /up, or /"), "\(reset)")
        }
    }

    @Test("a release command runs in the new image before it takes traffic; one that fails stops the deploy")
    func releaseCommand() async throws {
        try await withMinid(app: "rc") { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            let first = try await minid.mini(["deploy", folder.path, "--app", app])
            try #require(first.status == 0, "\(first.stdout)\(first.stderr)")
            #expect(try await minid.mini(["env", "set", app, "STAGE=two"]).status == 0)

            let script = "echo migrating to $STAGE on $PORT; /bin/busybox cat /www/marker.txt"
            let set = try await minid.mini(["release-command", "set", app, "/bin/busybox", "sh", "-c", script])
            #expect(set.status == 0 && set.stdout.contains("echo migrating"), "\(set)")
            // The command sees the new image: a file only the new build has.
            try "only in the new image\n".write(
                to: folder.appendingPathComponent("www/marker.txt"), atomically: false, encoding: .utf8)
            let migrated = try await minid.mini(["deploy", folder.path, "--app", app])
            #expect(migrated.status == 0, "\(migrated.stdout)\(migrated.stderr)")
            let log = migrated.stdout
            #expect(log.contains("migrating to two on 8080") && log.contains("only in the new image"), "\(log)")
            let (ran, started) = (log.range(of: "The release command succeeded"), log.range(of: "-----> Starting v3"))
            #expect(ran != nil && started != nil && ran!.lowerBound < started!.lowerBound, "not run before: \(log)")

            let failing = try await minid.mini(
                ["release-command", "set", app, "--", "/bin/busybox", "sh", "-c", "echo cannot migrate; exit 5"])
            #expect(failing.status == 0)
            let refused = try await minid.mini(["deploy", folder.path, "--app", app])
            #expect(refused.status == 1)
            #expect(refused.stdout.contains("cannot migrate"), "\(refused.stdout)")
            #expect(refused.stdout.contains("exited with status 5"), "\(refused.stdout)")
            let info = try await minid.mini(["apps", "info", app, "--json"])
            #expect(info.stdout.contains(#""release":3"#) || info.stdout.contains(#""release" : 3"#), "\(info.stdout)")
            let (status, _) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(status == 200, "the release before stopped serving")
            let left = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"),
                ["ps", "-a", "--format", "{{.Names}}", "--filter", "label=mini.app=\(app)"])
            try #require(left.status == 0 && left.stdout.contains("-v3-1"), "\(left)")
            #expect(!left.stdout.contains("-release"), "a release command's container was left: \(left.stdout)")
            #expect(!left.stdout.contains("-v4-"), "the failed release started instances: \(left.stdout)")
        }
    }

    @Test("images are kept per image, not per release: settings changes leave the code before them within reach")
    func settingsChangesKeepOlderCode() async throws {
        try await withMinid(app: "keep") { minid, app, work in
            for (folder, body) in [("one", "body one"), ("two", "body two")] {
                let code = try Self.makeInfoApp(in: work, as: folder, body: body)
                try #require(try await minid.mini(["deploy", code.path, "--app", app]).status == 0)
            }
            // More settings releases of v2's image than the 5 kept images: the first five
            // pushed v1 out while the count was in releases (the sixth's job runs after the
            // fifth's clean-up).
            for value in 1...6 {
                let set = try await minid.mini(["env", "set", app, "K=\(value)"])
                try #require(set.status == 0, "\(set)")
            }
            let listed = try await minid.mini(["releases", app, "--json"])
            let releases = try JSONDecoder.mini.decode(ReleaseList.self, from: Data(listed.stdout.utf8)).releases
            #expect(releases.count == 8 && releases.allSatisfy { $0.imageKept == true }, "\(listed.stdout)")
            let rollback = try await minid.mini(["rollback", app, "v1"])
            #expect(rollback.status == 0, "\(rollback)")
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").1.contains("body one"))

            // Five new images later, the two before them are gone (v2's has no release left
            // that keeps it; v1's went with v9, the rollback that ran it again); the newest stay.
            for index in 3...7 {
                let code = try Self.makeInfoApp(in: work, as: "code\(index)", body: "body \(index)")
                try #require(try await minid.mini(["deploy", code.path, "--app", app]).status == 0)
            }
            try await waitUntil(timeout: .seconds(10)) {
                let listed = try await minid.mini(["releases", app, "--json"])
                let releases = try JSONDecoder.mini.decode(ReleaseList.self, from: Data(listed.stdout.utf8)).releases
                return releases.filter { $0.imageKept == false }.map(\.version).sorted() == Array(1...9)
            }
        }
    }

    @Test("env set reaches the app, rollback restores image and env, scale spreads requests, lost instances come back")
    func envRollbackScaleHeal() async throws {
        try await withMinid(app: "rel") { minid, app, work in
            // Created first, its env set before the first deploy, which starts with it.
            let created = try await minid.mini(["apps", "create", app])
            #expect(created.status == 0, "\(created.stdout)\(created.stderr)")
            #expect(created.stdout.contains("http://\(app).localhost:\(minid.proxyPort)"), "\(created.stdout)")
            #expect(try await minid.mini(["apps", "create", app]).status == 1, "a second create is refused")
            let early = try await minid.mini(["env", "set", app, "FOO=zero"])
            #expect(early.status == 0, "\(early.stdout)\(early.stderr)")
            let v1 = try Self.makeInfoApp(in: work, as: "v1", body: "body one")
            try #require(try await minid.mini(["deploy", v1.path, "--app", app]).status == 0)
            var (_, info) = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info")
            #expect(info.contains("FOO=zero"), "\(info)")
            let set = try await minid.mini(["env", "set", app, "FOO=first"])
            #expect(set.status == 0, "\(set.stdout)\(set.stderr)")
            (_, info) = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info")
            #expect(info.contains("FOO=first"), "\(info)")
            let shown = try await minid.mini(["env", app])
            #expect(shown.stdout.contains("FOO"))
            #expect(!shown.stdout.contains("first"), "values are masked without --reveal: \(shown.stdout)")

            let v2 = try Self.makeInfoApp(in: work, as: "v2", body: "body two")
            try #require(try await minid.mini(["deploy", v2.path, "--app", app]).status == 0)
            #expect(try await minid.mini(["env", "set", app, "FOO=second"]).status == 0)
            (_, info) = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info")
            #expect(info.contains("FOO=second"))

            // Releases: v1 deploy, v2 env, v3 deploy, v4 env. Roll back to v2: body one, FOO=first.
            let rollback = try await minid.mini(["rollback", app, "v2"])
            #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
            let (_, body) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(body.contains("body one"))
            (_, info) = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info")
            #expect(info.contains("FOO=first"), "\(info)")
            let releases = try await minid.mini(["releases", app, "--json"])
            #expect(releases.stdout.contains("rollback to v2"))
            // Jobs say what they did: deploys, settings releases, the rollback.
            let jobLines = try await minid.mini(["jobs", "--app", app]).stdout.split(separator: "\n")
            for kind in ["deploy", "release: env set FOO", "rollback to v2"] {
                #expect(jobLines.contains { $0.contains(" \(kind)") }, "no \(kind) job in \(jobLines)")
            }

            // Scale to 3: requests reach 3 containers.
            // Queued as a script would: --async prints only the job id; status --wait follows it.
            let scale = try await minid.mini(["scale", app, "3", "--async"])
            #expect(scale.status == 0, "\(scale.stdout)\(scale.stderr)")
            let scaleJob = scale.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Int(scaleJob) != nil, "\(scale.stdout)")
            #expect(try await minid.mini(["status", scaleJob, "--wait"]).status == 0)
            var hosts = Set<String>()
            for _ in 0..<30 {
                (_, info) = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info")
                if let host = info.components(separatedBy: "host=").last {
                    hosts.insert(host.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            }
            #expect(hosts.count == 3, "hosts seen: \(hosts)")

            // docker rm -f of an instance is repaired by the reconciler.
            let victim = "mini-\(app)-v6-2"
            _ = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["rm", "-f", victim])
            var repaired = false
            for _ in 0..<40 where !repaired {
                try await Task.sleep(for: .milliseconds(250))
                let state = try await run(
                    URL(fileURLWithPath: "/usr/bin/docker"), ["inspect", "-f", "{{.State.Running}}", victim])
                repaired = state.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
            }
            #expect(repaired, "the removed instance was not recreated")

            // App logs: every instance's lines, prefixed with the instance, as one log in the
            // order they were written (requests go round the 3 instances).
            for order in 1...9 {
                _ = try await minid.getThroughProxy(host: "\(app).localhost", path: "/cgi-bin/info?order-\(order)")
            }
            let logs = try await minid.mini(["logs", app, "-n", "50"])
            #expect(logs.status == 0)
            #expect(logs.stdout.contains("[mini-\(app)-v6-"), "app logs:\n\(logs.stdout)")
            let orders = logs.stdout.split(separator: "\n").compactMap { $0.firstMatch(of: /info order-(\d)$/)?.1 }
            #expect(orders == ["1", "2", "3", "4", "5", "6", "7", "8", "9"], "app logs:\n\(logs.stdout)")
            // With -t, each line begins with when it was written, as heroku logs shows it.
            let stamped = try await minid.mini(["logs", app, "-n", "5", "-t"]).stdout.split(separator: "\n")
            #expect(!stamped.isEmpty)
            #expect(
                stamped.allSatisfy {
                    $0.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z \[mini-.+\] .*/) != nil
                },
                "\(stamped)")
            // --since: the lines written since then (by the engine's clock); none since a moment to come.
            let recent = try await minid.mini(["logs", app, "--since", "1h"])
            #expect(recent.status == 0 && recent.stdout.contains("[mini-\(app)-v6-"), "\(recent)")
            let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            let none = try await minid.mini(["logs", app, "--since", later])
            #expect(none.status == 0 && none.stdout.isEmpty, "\(none)")
            // A follow whose reader took what it wanted ends by SIGPIPE although the app prints
            // nothing more, as tail -f does.
            let followed = try await run(
                URL(fileURLWithPath: "/bin/bash"),
                [
                    "-c", #""$0" logs "$1" -f -n 5 | head -1 >/dev/null; echo "mini:${PIPESTATUS[0]}" >&2"#,
                    binary("mini").path, app,
                ],
                environment: minid.miniEnvironment, timeout: .seconds(20))
            #expect(followed.stderr.contains("mini:141"), "\(followed)")

            // Limits reach the containers of the new release.
            let limits = try await minid.mini(["limits", "set", app, "--memory", "64m", "--cpus", "0.5", "--json"])
            #expect(limits.status == 0, "\(limits.stdout)\(limits.stderr)")
            let change = try JSONSerialization.jsonObject(with: Data(limits.stdout.utf8)) as? [String: Any]
            #expect((change?["job"] as? [String: Any])?["state"] as? String == "succeeded", "\(limits.stdout)")
            #expect(change?["changed"] as? Bool == true, "\(limits.stdout)")
            // The same again makes no release, and the JSON still has both keys.
            let same = try await minid.mini(["limits", "set", app, "--memory", "64m", "--async", "--json"])
            #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
            #expect(same.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"changed":false,"job":null}"#)
            let memory = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"),
                ["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "mini-\(app)-v7-1"]
            )
            #expect(memory.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "67108864 500000000")
            // A limit not named keeps its value; none removes one.
            let cpusRemoved = try await minid.mini(["limits", "set", app, "--cpus", "none"])
            #expect(cpusRemoved.status == 0, "\(cpusRemoved.stdout)\(cpusRemoved.stderr)")
            let memoryKept = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"),
                ["inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", "mini-\(app)-v8-1"]
            )
            #expect(memoryKept.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "67108864 0")
            // More CPUs than the machine has is refused up front (the engine would refuse every
            // start of the app), and more memory (no limit at all; a typo).
            let engine = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"), ["info", "-f", "{{.NCPU}} {{.MemTotal}}"])
            let machine = engine.stdout.split(separator: " ").compactMap {
                Int64($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            try #require(machine.count == 2, "\(engine)")
            let (cores, memoryBytes) = (machine[0], machine[1])
            if cores < 64 {
                let tooMany = try await minid.mini(["limits", "set", app, "--cpus", String(cores + 1)])
                #expect(tooMany.status == 1, "\(tooMany)")
                #expect(tooMany.stderr.contains("this server has \(cores) CPU"), "\(tooMany.stderr)")
            }
            let tooMuch = try await minid.mini(["limits", "set", app, "--memory", "\(memoryBytes / (1 << 20) + 1)m"])
            #expect(tooMuch.status == 1, "\(tooMuch)")
            let machineMemory = ByteSize.format(memoryBytes, rounding: .down)
            #expect(tooMuch.stderr.contains("this server has \(machineMemory) of memory"), "\(tooMuch.stderr)")
            let kept = try await minid.mini(["limits", app])
            #expect(kept.stdout.contains("64m"), "a refused limit changes nothing: \(kept.stdout)")

            // A rollback to a release whose image is gone fails at once and says why; the app
            // keeps serving. v3's image is found by the release's record.
            let history = try await minid.mini(["releases", app, "--json"])
            let list = try JSONDecoder.mini.decode(ReleaseList.self, from: Data(history.stdout.utf8))
            let imageID = try #require(list.releases.first { $0.version == 3 }?.image, "\(history.stdout)")
            // Once v4's instance (the last to run it) is retired: an image a container still
            // uses is only untagged.
            try await waitUntil(timeout: .seconds(60)) {
                let users = try? await run(
                    URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "-aq", "--filter", "ancestor=\(imageID)"])
                return users?.status == 0 && users?.stdout.isEmpty == true
            }
            let removed = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["rmi", "-f", imageID])
            #expect(removed.status == 0, "\(removed.stderr)")
            let stillThere = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["image", "inspect", imageID])
            #expect(stillThere.status != 0, "the engine kept \(imageID) after docker rmi -f: \(removed.stdout)")
            let gone = try await minid.mini(["rollback", app, "v3"])
            #expect(gone.status == 1, "\(gone.stdout)\(gone.stderr)")
            #expect(gone.stderr.contains("no longer kept"), "\(gone.stderr)")
            #expect(!gone.stdout.contains("job"), "refused by the API, not by a queued job: \(gone.stdout)")
            let marked = try await minid.mini(["releases", app])
            #expect(
                marked.stdout.split(separator: "\n").contains { $0.hasPrefix("v3 ") && $0.contains("image removed") },
                "\(marked.stdout)")
            let after = try JSONDecoder.mini.decode(
                ReleaseList.self, from: Data(try await minid.mini(["releases", app, "--json"]).stdout.utf8))
            #expect(after.releases.first { $0.version == 3 }?.imageKept == false, "\(after)")
            #expect(after.releases.first { $0.current }?.imageKept == true, "\(after)")
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").1.contains("body one"))

            // Scale to 0: the route answers 503.
            #expect(try await minid.mini(["scale", app, "0"]).status == 0)
            let (status, _) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(status == 503)

            // Destroy leaves nothing: no containers, no images, no app.
            let refused = try await minid.mini(["apps", "destroy", app])
            #expect(refused.status == 2, "destroy without --confirm must refuse")
            let destroyed = try await minid.mini(["apps", "destroy", app, "--confirm", app])
            #expect(destroyed.status == 0, "\(destroyed.stderr)")
            let left = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "-aq", "--filter", "label=mini.app=\(app)"]
            )
            #expect(left.stdout.isEmpty)
            let images = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["images", "-q", "mini/\(app)"])
            #expect(images.stdout.isEmpty)
            #expect(try await minid.mini(["apps", "info", app]).status == 1)
        }
    }

    struct LoadResult: Sendable {
        var total = 0
        var failures = 0
        var failureSamples: [String] = []
        var bodies = Set<String>()
    }

    /// Sends GET requests one after another through the proxy until cancelled.
    static func hammer(port: Int, host: String) async throws -> LoadResult {
        var result = LoadResult()
        while !Task.isCancelled {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/")
            request.headers.replaceOrAdd(name: "Host", value: host)
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                let body = try await response.body.collect(upTo: 1 << 20)
                result.total += 1
                if response.status == .ok {
                    result.bodies.insert(String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))
                } else {
                    result.failures += 1
                    if result.failureSamples.count < 5 {
                        result.failureSamples.append("status \(response.status.code)")
                    }
                }
            } catch is CancellationError {
                break
            } catch {
                if Task.isCancelled { break }
                result.total += 1
                result.failures += 1
                if result.failureSamples.count < 5 { result.failureSamples.append("\(error)") }
            }
        }
        return result
    }
}
