import Foundation
import MiniCore
import Testing

/// The build queue with real processes: cancel (of a build, of a health wait), timeout, and a
/// worker SIGKILLed mid-build.
@Suite("build queue, end to end", .serialized)
struct QueueEndToEndTests {
    /// A context whose build sleeps `seconds` in a RUN step, then serves like examples/hello.
    static func slowBuild(in work: TemporaryDirectory, as folder: String, seconds: Int) throws -> URL {
        let app = try copyExample("hello", into: work, as: folder)
        let dockerfile = """
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "sleep", "\(seconds)"]
            COPY www /www
            CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
            """
        try dockerfile.write(to: app.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
        return app
    }

    /// Queues a deploy of ``slowBuild(in:as:seconds:)`` and returns its job id once a worker
    /// runs it.
    static func startSlowDeploy(of app: String, seconds: Int, in work: TemporaryDirectory, minid: MinidProcess)
        async throws -> String
    {
        let slow = try slowBuild(in: work, as: "slow", seconds: seconds)
        let queued = try await minid.mini(["deploy", slow.path, "--app", app, "--async"])
        let job = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await waitUntilRunning(job, minid: minid)
        return job
    }

    /// A context like examples/hello whose instances answer only 3 s after they start.
    static func slowStart(in work: TemporaryDirectory, as folder: String) throws -> URL {
        let app = try copyExample("hello", into: work, as: folder)
        let dockerfile = """
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            EXPOSE 8080
            CMD ["/bin/busybox", "sh", "-c", "/bin/busybox sleep 3; exec /bin/busybox httpd -f -p 8080 -h /www"]
            """
        try dockerfile.write(to: app.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
        return app
    }

    /// Waits until the job is running (its build has started).
    static func waitUntilRunning(_ job: String, minid: MinidProcess, attempt: Int = 1) async throws {
        for _ in 0..<100 {
            let status = try await minid.mini(["status", job, "--json"])
            if status.stdout.contains("\"running\""), status.stdout.contains("\"attempt\":\(attempt)") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(job) never started attempt \(attempt)")
    }

    /// SIGKILLs minid's (only) worker process; its supervisor restarts it after a second.
    static func killWorker(of minid: MinidProcess) async throws {
        kill(try #require(await minid.workerPID(), "no worker process found"), SIGKILL)
    }

    /// Containers running `busybox sleep <seconds>`: a build step of ours still running (the
    /// odd durations tell it from other tests' steps).
    static func runningSleepSteps(seconds: Int) async throws -> Int {
        let result = try await run(
            URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "--no-trunc", "--format", "{{.Command}}"]
        )
        return result.stdout.split(separator: "\n").filter { $0.contains("sleep \(seconds)") }.count
    }

    @Test("cancel stops a running build within 2 s")
    func cancelRunningBuild() async throws {
        try await withMinid(app: "q") { minid, app, work in
            let job = try await Self.startSlowDeploy(of: app, seconds: 37, in: work, minid: minid)
            try await waitUntil(timeout: .seconds(30)) { try await Self.runningSleepSteps(seconds: 37) > 0 }
            #expect(try await Self.runningSleepSteps(seconds: 37) == 1, "the build step should be running")
            let started = ContinuousClock.now
            let cancelled = try await minid.mini(["cancel", job, "--async"])
            #expect(cancelled.status == 0, "\(cancelled.stderr)")
            #expect(cancelled.stdout.contains("`mini cancel \(job)` waits for its end"), "\(cancelled.stdout)")
            while try await Self.runningSleepSteps(seconds: 37) > 0, ContinuousClock.now - started < .seconds(5) {
                try await Task.sleep(for: .milliseconds(100))
            }
            let took = ContinuousClock.now - started
            #expect(took < .seconds(2), "the build kept running \(took) after the cancel")
            let status = try await minid.mini(["status", job, "--wait", "--json"], timeout: .seconds(30))
            #expect(status.stdout.contains("cancelled by user"), "\(status.stdout)")
            // As the --async answer says: cancelling again waits for the end, here at once.
            let again = try await minid.mini(["cancel", job])
            #expect(again.status == 0 && again.stdout.contains("job \(job) is cancelled"), "\(again)")
        }
    }

    /// The names of the app's containers, running or not, sorted; `instance` (such as `v1-1`)
    /// narrows them to one instance, `release` to one release.
    static func containers(of app: String, instance: String? = nil, release: Int? = nil) async throws -> [String] {
        var filters = ["--filter", "label=mini.app=\(app)"]
        if let instance { filters += ["--filter", "name=mini-\(app)-\(instance)"] }
        if let release { filters += ["--filter", "label=mini.release=\(release)"] }
        let result = try await run(
            URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "-a", "--format", "{{.Names}}"] + filters)
        try #require(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init).sorted()
    }

    @Test("cancel during the health wait: the new instance is gone when mini cancel returns, and the app deploys next")
    func cancelDuringHealthWait() async throws {
        try await withMinid(app: "c") { minid, app, work in
            let silent = try copyExample("hello", into: work, as: "silent")
            try "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"600\"]\n".write(
                to: silent.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8
            )
            let queued = try await minid.mini(["deploy", silent.path, "--app", app, "--async"])
            let job = queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitUntil(timeout: .seconds(30)) { try await !Self.containers(of: app, instance: "v1-1").isEmpty }

            let cancelled = try await minid.mini(["cancel", job])
            #expect(cancelled.status == 0, "\(cancelled.stderr)")
            #expect(cancelled.stdout.contains("job \(job) is cancelled"), "\(cancelled.stdout)")
            #expect(
                try await Self.containers(of: app).isEmpty, "the job ended before its worker removed its instance")
            let status = try await minid.mini(["status", job, "--json"])
            #expect(status.stdout.contains("cancelled by user"), "\(status.stdout)")

            let hello = try copyExample("hello", into: work, as: "hello")
            let deployed = try await minid.mini(["deploy", hello.path, "--app", app])
            #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
            let (code, body) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(code == 200)
            #expect(body.contains("Hello from mini"))
        }
    }

    @Test("mini deploy follows a build step that prints nothing for longer than 90 s to its end")
    func quietBuildStep() async throws {
        try await withMinid(app: "q") { minid, app, work in
            // The CLI's HTTP client used to give up on a stream quiet for 90 s (exit 3).
            let quiet = try Self.slowBuild(in: work, as: "quiet", seconds: 97)
            let deployed = try await minid.mini(["deploy", quiet.path, "--app", app])
            #expect(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
            #expect(deployed.stdout.contains("http://\(app).localhost"), "\(deployed.stdout)")
        }
    }

    @Test("Ctrl-C on mini deploy stops following, says how to get back, and ends by SIGINT; the job goes on")
    func interruptedDeploy() async throws {
        try await withMinid(app: "i") { minid, app, work in
            let slow = try Self.slowBuild(in: work, as: "slow", seconds: 7)
            let stderr = work.url.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
            let deploy = Process()
            deploy.executableURL = binary("mini")
            deploy.arguments = ["deploy", slow.path, "--app", app]
            deploy.environment = ProcessInfo.processInfo.environment.merging(minid.miniEnvironment) { $1 }
            deploy.standardOutput = FileHandle.nullDevice
            deploy.standardError = try FileHandle(forWritingTo: stderr)
            try deploy.run()
            try await waitUntil(timeout: .seconds(30)) {
                (try? String(contentsOf: stderr, encoding: .utf8))?.contains("following its build log") == true
            }
            kill(deploy.processIdentifier, SIGINT)
            deploy.waitUntilExit()
            let said = try String(contentsOf: stderr, encoding: .utf8)
            // Ended by SIGINT, as Ctrl-C ends any program (the shell shows 130).
            #expect(deploy.terminationReason == .uncaughtSignal && deploy.terminationStatus == SIGINT, "\(said)")
            #expect(said.contains("which goes on on the server"), "\(said)")
            let job = try #require(said.firstMatch(of: /job (\d+) queued/)?.1)
            #expect(said.contains("mini cancel \(job)"), "\(said)")
            let waited = try await minid.mini(["status", String(job), "--wait"])
            #expect(waited.status == 0, "the job went on to succeed: \(waited.stdout)")
        }
    }

    @Test("a build over the timeout fails as timed out")
    func buildTimeout() async throws {
        try await withMinid(app: "t", extraArguments: ["--build-timeout", "4"]) { minid, app, work in
            let slow = try Self.slowBuild(in: work, as: "slow", seconds: 41)
            let timedOut = try await minid.mini(["deploy", slow.path, "--app", app])
            #expect(timedOut.status == 1)
            let jobs = try await minid.mini(["jobs", "--app", app, "--state", "failed", "--json"])
            #expect(jobs.stdout.contains("timed out"), "\(jobs.stdout)")
        }
    }

    @Test(
        "a worker SIGKILLed mid-build: its job runs again within seconds, not when its 30 s lease expires, and succeeds once"
    )
    func workerKilledMidBuild() async throws {
        try await withMinid(app: "k", workers: 1) { minid, app, work in
            let job = try await Self.startSlowDeploy(of: app, seconds: 3, in: work, minid: minid)
            try await Self.killWorker(of: minid)
            let killedAt = ContinuousClock.now

            // The supervisor sees the worker exit and gives its job back to the queue; the
            // restarted worker (after a 1 s backoff) claims it as attempt 2.
            try await Self.waitUntilRunning(job, minid: minid, attempt: 2)
            let rescuedAfter = ContinuousClock.now - killedAt
            #expect(rescuedAfter < .seconds(10), "claimed again after \(rescuedAfter)")
            let waited = try await minid.mini(["status", job, "--wait", "--json"], timeout: .seconds(90))
            #expect(waited.status == 0, "\(waited.stdout)\(waited.stderr)")
            // Attempt 2, or a later one when the engine failed it (right after a dockerd restart
            // it may refuse a container's network endpoint once).
            let attempt = try JSONDecoder.mini.decode(JobInfo.self, from: Data(waited.stdout.utf8)).attempt
            #expect(attempt >= 2, "\(waited.stdout)")
            let (status, body) = try await minid.getThroughProxy(host: "\(app).localhost")
            #expect(status == 200)
            #expect(body.contains("Hello from mini"))
            let log = try await minid.mini(["logs", "--build", job])
            #expect(log.stdout.contains("attempt 1") && log.stdout.contains("attempt 2"))
            #expect(log.stdout.contains("-----> Attempt 1 ended (lease lost): starting again"), "\(log.stdout)")
            #expect(
                log.stdout.components(separatedBy: "Releasing v").count == 2, "released exactly once:\n\(log.stdout)")
        }
    }

    @Test(
        "a worker SIGKILLed mid-deploy: the retry stops the release command it left running, and publishes only the instances it checked"
    )
    func retryCleansUpAfterDeadAttempt() async throws {
        try await withMinid(app: "rk", workers: 1) { minid, app, work in
            // Slow to get healthy, so that a worker can die in the health gate.
            let folder = try Self.slowStart(in: work, as: app)
            #expect(try await minid.mini(["apps", "create", app]).status == 0)
            #expect(try await minid.mini(["release-command", "set", app, "/bin/busybox", "sleep", "6"]).status == 0)

            // Killed while its release command runs: the retry stops that one before its own.
            let first = try await minid.mini(["deploy", folder.path, "--app", app, "--async"])
            let firstJob = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitUntil(timeout: .seconds(30)) {
                try await minid.mini(["logs", "--build", firstJob]).stdout.contains("Running the release command")
            }
            try await Self.killWorker(of: minid)
            let firstEnd = try await minid.mini(["status", firstJob, "--wait"], timeout: .seconds(90))
            #expect(firstEnd.status == 0, "\(firstEnd.stdout)\(firstEnd.stderr)")
            let firstLog = try await minid.mini(["logs", "--build", firstJob]).stdout
            #expect(
                firstLog.contains("Stopping mini-\(app)-v1-release-1, left running by an earlier attempt"),
                "\(firstLog)")
            #expect(try await Self.containers(of: app) == ["mini-\(app)-v1-1"])

            // Killed in the health gate with two instances started; the retry, asked for one
            // meanwhile (a scale whose own job is cancelled), starts and publishes only one.
            #expect(try await minid.mini(["release-command", "unset", app]).status == 0)
            #expect(try await minid.mini(["scale", app, "2"]).status == 0)
            let second = try await minid.mini(["deploy", folder.path, "--app", app, "--async"])
            let secondJob = second.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitUntil(timeout: .seconds(30)) {
                try await Self.containers(of: app, release: 3).count == 2
            }
            let scale = try await minid.mini(["scale", app, "1", "--async"])
            let scaleJob = scale.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await minid.mini(["cancel", scaleJob]).status == 0, "\(scale)")
            try await Self.killWorker(of: minid)
            let secondEnd = try await minid.mini(["status", secondJob, "--wait"], timeout: .seconds(90))
            #expect(secondEnd.status == 0, "\(secondEnd.stdout)\(secondEnd.stderr)")
            #expect(try await Self.containers(of: app, release: 3) == ["mini-\(app)-v3-1"])
            let info = try await minid.mini(["apps", "info", app])
            #expect(!info.stdout.contains("v3-2"), "an unchecked instance of the dead attempt serves:\n\(info.stdout)")
        }
    }

    @Test("a config var set while a rollback waits is kept: the rollback restores the old env, the change comes after")
    func envSetDuringRollback() async throws {
        try await withMinid(app: "re", workers: 1) { minid, app, work in
            let folder = try Self.slowStart(in: work, as: app)
            #expect(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            #expect(try await minid.mini(["env", "set", app, "OLD=1"]).status == 0)
            // The rollback waits behind a deploy (3 s to get healthy); the env set comes after it.
            let deploy = try await minid.mini(["deploy", folder.path, "--app", app, "--async"])
            try await Self.waitUntilRunning(deploy.stdout.trimmingCharacters(in: .whitespacesAndNewlines), minid: minid)
            #expect(try await minid.mini(["rollback", app, "v1", "--async"]).status == 0)
            let set = try await minid.mini(["env", "set", app, "NEW=2"], timeout: .seconds(60))
            #expect(set.status == 0, "\(set.stdout)\(set.stderr)")
            let env = try await minid.mini(["env", app, "--reveal"])
            #expect(env.stdout.contains("NEW") && env.stdout.contains("2"), "the change was lost:\n\(env.stdout)")
            #expect(!env.stdout.contains("OLD"), "the rollback did not restore v1's env:\n\(env.stdout)")
            let releases = try await minid.mini(["releases", app])
            #expect(releases.stdout.contains("v5") && releases.stdout.contains("rollback to v1"), "\(releases.stdout)")
        }
    }

    @Test("a settings change the running deploy already carries, or that was changed back, makes no new release")
    func carriedChangeMakesNoRelease() async throws {
        try await withMinid(app: "cr", workers: 1) { minid, app, work in
            let folder = try Self.slowStart(in: work, as: app)
            #expect(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            // Set and unset while a deploy runs: the deploy read the env without X, and the
            // change's job, which runs after it, finds v2 already running without X.
            let deploy = try await minid.mini(["deploy", folder.path, "--app", app, "--async"])
            try await Self.waitUntilRunning(deploy.stdout.trimmingCharacters(in: .whitespacesAndNewlines), minid: minid)
            #expect(try await minid.mini(["env", "set", app, "X=1", "--async"]).status == 0)
            let unset = try await minid.mini(["env", "unset", app, "X"], timeout: .seconds(60))
            #expect(unset.status == 0, "\(unset.stdout)\(unset.stderr)")
            #expect(unset.stdout.contains("is now at v2"), "\(unset.stdout)")
            let releases = try await minid.mini(["releases", app])
            #expect(releases.stdout.contains("v2") && !releases.stdout.contains("v3"), "\(releases.stdout)")
        }
    }

    @Test(
        "a job building when minid stops (SIGTERM) goes back to the queue, its log saying so, and the next minid deploys it"
    )
    func handedBackWhenStopping() async throws {
        try await withMinid(app: "hb", workers: 1) { minid, app, work in
            let job = try await Self.startSlowDeploy(of: app, seconds: 7, in: work, minid: minid)
            try await minid.killAndRestart(signal: SIGTERM)
            let waited = try await minid.mini(["status", job, "--wait"], timeout: .seconds(90))
            #expect(waited.status == 0, "\(waited.stdout)\(waited.stderr)")
            let log = try await minid.mini(["logs", "--build", job]).stdout
            for line in [
                "-----> The worker is stopping: it hands the job back to the queue",
                "-----> Attempt 1 ended (worker stopped): starting again",
            ] {
                #expect(log.contains(line), "\(log)")
            }
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").0 == 200)
        }
    }

    @Test("an instance stopped from outside in its health check (the engine stopping, docker stop) is tried again")
    func stoppedDuringHealthCheck() async throws {
        try await withMinid(app: "st", workers: 1) { minid, app, work in
            let folder = try Self.slowStart(in: work, as: app)
            let deploy = try await minid.mini(["deploy", folder.path, "--app", app, "--async"])
            let job = deploy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try await waitUntil(timeout: .seconds(30)) {
                try await Self.containers(of: app, instance: "v1-1").count == 1
            }
            let stopped = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["stop", "mini-\(app)-v1-1"])
            #expect(stopped.status == 0, "\(stopped.stderr)")
            let ended = try await minid.mini(["status", job, "--wait"], timeout: .seconds(90))
            #expect(ended.status == 0, "a SIGTERM from outside failed the deploy: \(ended.stdout)")
            let log = try await minid.mini(["logs", "--build", job]).stdout
            #expect(log.contains("stopped by a SIGTERM from outside") && log.contains("attempt 2"), "\(log)")
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").0 == 200)
        }
    }

    @Test("a scale change replaced while queued by a rollback follows the rollback, which runs the new scale")
    func scaleCarriedByRollback() async throws {
        try await withMinid(app: "sr", workers: 1) { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            for _ in 1...2 {
                #expect(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            }
            _ = try await Self.startSlowDeploy(of: app, seconds: 5, in: work, minid: minid)
            let environment = minid.miniEnvironment
            async let scaled = run(binary("mini"), ["scale", app, "2"], environment: environment)
            try await waitUntil(timeout: .seconds(30)) {
                try await minid.mini(["jobs", "--app", app, "--state", "queued"]).stdout.contains("queued")
            }
            let rollback = try await minid.mini(["rollback", app, "v1"])
            #expect(rollback.status == 0, "\(rollback.stdout)\(rollback.stderr)")
            let scale = try await scaled
            #expect(scale.status == 0, "\(scale.stdout)\(scale.stderr)")
            #expect(scale.stdout.contains("was replaced by job"), "\(scale.stdout)")
            #expect(try await Self.containers(of: app, release: 4).count == 2)
        }
    }

    @Test("settings changes made at once all exit 0 once a release carrying them serves, replaced or not")
    func concurrentSettingsChanges() async throws {
        try await withMinid(app: "pe", workers: 1) { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            #expect(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            let environment = minid.miniEnvironment
            let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
                for index in 1...6 {
                    group.addTask {
                        try await run(
                            binary("mini"), ["env", "set", app, "K\(index)=\(index)"], environment: environment)
                    }
                }
                // Each names one limit: neither may undo the other.
                for limit in [["--memory", "128m"], ["--cpus", "0.5"]] {
                    group.addTask {
                        try await run(binary("mini"), ["limits", "set", app] + limit, environment: environment)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            }
            #expect(results.contains { $0.stdout.contains("was replaced by job") }, "none was replaced")
            let env = try await minid.mini(["env", app, "--reveal"]).stdout
            #expect((1...6).allSatisfy { env.contains("K\($0)") }, "\(env)")
            let limits = try await minid.mini(["limits", app]).stdout
            #expect(limits.contains("128") && limits.contains("0.5"), "\(limits)")
        }
    }
}
