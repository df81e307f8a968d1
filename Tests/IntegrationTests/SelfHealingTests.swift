import Foundation
import Glibc
import MiniCore
import Store
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
            // The first request the new proxy accepts finds the app: it loaded the routes
            // before it listened (it answered 404 "no app here" for a moment).
            let (killed, proxyPort, host) = (minid.process.processIdentifier, minid.proxyPort, "\(apps[1]).localhost")
            let firstAnswer = Task.detached {
                Self.firstStatus(port: proxyPort, host: host, onceGone: killed, within: .seconds(30))
            }
            try await minid.killAndRestart()
            let first = await firstAnswer.value
            #expect(first == 200, "the first answer after the restart: \(first.map(String.init) ?? "none")")
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

    @Test("an instance the engine keeps restarting leaves the routes, marked crashed; the others serve")
    func crashLoopLeavesRoutes() async throws {
        try await withMinid(app: "loop") { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            // Once /www/crashed exists (the container's own file system keeps it across
            // restarts), the app exits at start: the engine restarts it with a growing delay.
            let dockerfile = folder.appendingPathComponent("Dockerfile")
            let source = try String(contentsOf: dockerfile, encoding: .utf8).replacingOccurrences(
                of: "\"exec /bin/busybox httpd", with: "\"[ -e /www/crashed ] && exit 1; exec /bin/busybox httpd")
            try source.write(to: dockerfile, atomically: false, encoding: .utf8)
            try #require(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            try #require(try await minid.mini(["scale", app, "2"]).status == 0)
            let victim = "mini-\(app)-v2-1"
            let docker = URL(fileURLWithPath: "/usr/bin/docker")
            // Its output is kept in rotated files, so a chatty app cannot fill the disk.
            let logConfig = try await run(
                docker,
                ["inspect", "-f", "{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", victim])
            #expect(
                logConfig.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    == #"json-file {"max-file":"3","max-size":"10485760"}"#, "\(logConfig.stdout)")
            try #require(try await run(docker, ["exec", victim, "/bin/busybox", "touch", "/www/crashed"]).status == 0)
            _ = try await run(docker, ["exec", victim, "/bin/busybox", "kill", "1"])  // init passes it on

            var state = ""
            for _ in 0..<40 where state != "crashed" {
                try await Task.sleep(for: .milliseconds(250))
                let info = try await minid.mini(["apps", "info", app, "--json"])
                let decoded = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
                let instances = decoded?["instances"] as? [[String: Any]] ?? []
                state = instances.first { $0["name"] as? String == victim }?["state"] as? String ?? ""
            }
            #expect(state == "crashed", "\(victim) is \(state)")
            var failures: [Int] = []
            for _ in 0..<40 {
                let (status, _) = try await minid.getThroughProxy(host: "\(app).localhost")
                if status != 200 { failures.append(status) }
            }
            #expect(failures.isEmpty, "requests that failed: \(failures)")
        }
    }

    @Test("an instance lost while the app's next deploy builds is recreated during the build")
    func repairedDuringADeploy() async throws {
        try await withMinid(app: "busy") { minid, app, work in
            let v1 = try copyExample("hello", into: work, as: "v1")
            try #require(try await minid.mini(["deploy", v1.path, "--app", app]).status == 0)
            let v2 = try copyExample("hello", into: work, as: "v2")
            let dockerfile = v2.appendingPathComponent("Dockerfile")
            let slow = try String(contentsOf: dockerfile, encoding: .utf8).replacingOccurrences(
                of: "COPY www /www", with: "COPY www /www\nRUN [\"/bin/busybox\", \"sleep\", \"20\"]")
            try slow.write(to: dockerfile, atomically: false, encoding: .utf8)
            let queued = try await minid.mini(["deploy", v2.path, "--app", app, "--async"])
            let job = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(queued.status == 0 && Int(job) != nil, "\(queued)")
            var building = false
            for _ in 0..<100 where !building {
                try await Task.sleep(for: .milliseconds(100))
                building = try await minid.mini(["logs", "--build", job]).stdout.contains("sleep")
            }
            try #require(building, "the build did not reach its RUN step")

            let docker = URL(fileURLWithPath: "/usr/bin/docker")
            #expect(try await run(docker, ["rm", "-f", "mini-\(app)-v1-1"]).status == 0)
            #expect(
                try await Self.servesWithin(.seconds(10), minid: minid, host: "\(app).localhost"),
                "v1 was not repaired")
            let status = try await minid.mini(["status", job, "--json"])
            #expect(status.stdout.contains(#""state":"running""#), "repaired only after the build: \(status.stdout)")
            #expect(try await minid.mini(["status", job, "--wait"]).status == 0)
        }
    }

    @Test(
        "what a destroy cut short leaves is removed, also when the app is made again at once, which keeps its own",
        arguments: [false, true])
    func destroyFinishedByTheReconciler(madeAgain: Bool) async throws {
        try await withMinid(app: "gone") { minid, app, work in
            let folder = try copyExample("hello", into: work, as: "old")
            try "the old app\n".write(
                to: folder.appendingPathComponent("www/index.html"), atomically: false, encoding: .utf8)
            try #require(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            try #require(try await minid.mini(["restart", app]).status == 0)  // v2, another tag
            // What the destroy route does first, before it removes anything: as if minid died
            // right after that commit.
            let database = try MiniDatabase(path: minid.dataDirectory + "/mini.sqlite")
            _ = try await AppStore(database: database).deleteApp(try AppName(app))
            let docker = URL(fileURLWithPath: "/usr/bin/docker")
            var expected = ""
            if madeAgain {
                let new = try copyExample("hello", into: work, as: "new")
                try #require(try await minid.mini(["deploy", new.path, "--app", app]).status == 0)
                let id = try await run(docker, ["image", "inspect", "-f", "{{.ID}}", "mini/\(app):v1"])
                expected = "v1 \(id.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\n"
            }
            var left = ""
            for _ in 0..<120 {
                let images = try await run(
                    docker, ["images", "--no-trunc", "--format", "{{.Tag}} {{.ID}}", "mini/\(app)"])
                let containers = try await run(
                    docker, ["ps", "-a", "--format", "{{.Names}}", "--filter", "label=mini.app=\(app)"])
                let oldContainers = containers.stdout.split(separator: "\n").filter {
                    !$0.hasSuffix("-v1-1") || !madeAgain
                }
                left = images.stdout + oldContainers.joined(separator: "\n")
                if images.status == 0 && containers.status == 0 && left == expected { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(left == expected, "left of \(app): \(left)")
            var pending = try await AppStore(database: database).pendingRemovals(olderThan: .zero)
            for _ in 0..<20 where !pending.isEmpty {
                try await Task.sleep(for: .milliseconds(250))
                pending = try await AppStore(database: database).pendingRemovals(olderThan: .zero)
            }
            #expect(pending.isEmpty, "the removal is noted as done")
            if madeAgain {
                let (status, body) = try await minid.getThroughProxy(host: "\(app).localhost")
                #expect(status == 200 && !body.contains("the old app"), "\(status) \(body)")
            }
        }
    }

    /// Once process `pid` is gone, connects to 127.0.0.1:`port` every 0.5 ms until it
    /// accepts, and returns the status of the answer to `GET /` for `host`.
    static func firstStatus(port: Int, host: String, onceGone pid: Int32, within limit: Duration) -> Int? {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline, kill(pid, 0) == 0 { usleep(500) }
        while ContinuousClock.now < deadline {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                usleep(500)
                continue
            }
            let request = Array("GET / HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
            guard send(socket, request, request.count, 0) == request.count else { return nil }
            var answer = [UInt8](repeating: 0, count: 12)  // `HTTP/1.1 200`
            var received = 0
            while received < answer.count {
                let count = answer.withUnsafeMutableBytes { recv(socket, $0.baseAddress! + received, 12 - received, 0) }
                guard count > 0 else { return nil }
                received += count
            }
            return Int(String(decoding: answer[9..<12], as: UTF8.self))
        }
        return nil
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
