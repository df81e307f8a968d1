import Foundation
import Testing

/// `mini run`: one-off commands in a release's image, against real containers.
@Suite("mini run, end to end", .serialized)
struct RunTests {
    /// Also: a silence longer than the API's idle timeout is waited out.
    @Test("a one-off command runs with the release's environment; its output and exit status come back; it goes")
    func oneOffCommand() async throws {
        try await withMinid(app: "r", extraArguments: ["--api-idle-timeout", "2"]) { minid, app, work in
            try await deploy(app, from: work, on: minid)
            let env = try await minid.mini(["env", "set", app, "GREETING=hello there"])
            try #require(env.status == 0, "\(env.stdout)\(env.stderr)")

            let script = """
                echo "$GREETING|$EXTRA|$PORT"; echo to-stderr >&2; /bin/busybox sleep 3; echo after-silence; exit 7
                """
            let result = try await minid.mini(["run", "-e", "EXTRA=x", app, "/bin/busybox", "sh", "-c", script])
            #expect(result.status == 7, "\(result.stderr)")
            #expect(result.stdout == "hello there|x|8080\nafter-silence\n")
            #expect(result.stderr.contains("to-stderr\n"), "\(result.stderr)")
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "the one-off container was left behind")

            let viaSeparator = try await minid.mini(["run", app, "--", "/bin/busybox", "echo", "--not-an-option"])
            #expect(viaSeparator.status == 0 && viaSeparator.stdout == "--not-an-option\n", "\(viaSeparator)")
            // 1.3 MB of output, faster than it is read: every line arrives, in order.
            let many = try await minid.mini(["run", app, "/bin/busybox", "seq", "1", "200000"])
            #expect(many.status == 0)
            #expect(many.stdout == (1...200_000).map { "\($0)\n" }.joined(), "lines lost or reordered")

            // Output passes byte for byte: bytes that are not UTF-8, CR LF, a 200 kB line, no
            // newline at the end, stderr's bytes too (checked against busybox run here).
            let binaryOutput =
                #"printf '\377\376abc\r\n'; /bin/busybox head -c 200000 /dev/zero | /bin/busybox tr '\000' x; printf end; printf 'e\377r' >&2"#
            let exact = try await run(
                URL(fileURLWithPath: "/bin/bash"),
                [
                    "-c",
                    #""$0" run "$1" /bin/busybox sh -c "$2" 2>/dev/null | sha256sum; /bin/busybox sh -c "$2" 2>/dev/null | sha256sum; "$0" run "$1" /bin/busybox sh -c "$2" 2>&1 >/dev/null | od -An -tx1"#,
                    binary("mini").path, app, binaryOutput,
                ],
                environment: minid.miniEnvironment)
            let hashes = exact.stdout.split(separator: "\n")
            #expect(hashes.count == 3 && hashes[0] == hashes[1], "\(exact)")
            #expect(hashes.last?.trimmingCharacters(in: .whitespaces) == "65 ff 72", "\(exact)")

            let missing = try await minid.mini(["run", app, "/no/such/program"])
            #expect(missing.status == 127, "the engine's init reports a missing program as 127: \(missing)")
            // 64 is EX_USAGE, mini's own usage status before it maps it to 2: passed on as it is.
            let sixtyFour = try await minid.mini(["run", app, "/bin/busybox", "sh", "-c", "exit 64"])
            #expect(sixtyFour.status == 64, "\(sixtyFour)")

            // A reader that stops early (`| head -1`) ends mini by SIGPIPE, as it ends other
            // tools, not by a crash report.
            let piped = try await run(
                URL(fileURLWithPath: "/bin/bash"),
                ["-c", #""$0" run "$1" /bin/busybox seq 1 200000 | head -1; echo "mini:${PIPESTATUS[0]}" >&2"#]
                    + [binary("mini").path, app],
                environment: minid.miniEnvironment)
            #expect(piped.stdout == "1\n", "\(piped)")
            #expect(piped.stderr.contains("mini:141"), "\(piped)")
            #expect(!piped.stderr.contains("Fatal error"), "\(piped)")
        }
    }

    /// The engine gives attached readers two seconds after a container's exit and drops the
    /// output still on its way then; read at the client's pace, a reader pausing at that
    /// moment lost the output's tail.
    @Test("a client that pauses loses no output: minid reads ahead of it, and the command ends meanwhile")
    func pausingClient() async throws {
        try await withMinid(app: "p") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            // Reads the first line, waits 8 s, then counts the rest.
            let reader = """
                import sys, time
                first = sys.stdin.buffer.readline()
                time.sleep(8)
                rest = 0
                while chunk := sys.stdin.buffer.read1(1 << 16):
                    rest += len(chunk)
                print(first.decode().strip(), rest)
                """
            let environment = minid.miniEnvironment
            let rssBefore = residentKilobytes(of: minid.process.processIdentifier)
            async let session = run(
                URL(fileURLWithPath: "/bin/bash"),
                [
                    "-c",
                    #""$0" run "$1" /bin/busybox sh -c 'echo first; /bin/busybox head -c 12000000 /dev/zero' | python3 -c "$2"; echo "mini:${PIPESTATUS[0]}""#,
                    binary("mini").path, app, reader,
                ],
                environment: environment)
            // 12 MB is more than the pipes and sockets between the engine and the paused reader
            // hold: the command can only finish while the reader waits if minid read it ahead.
            try await waitUntil(timeout: .seconds(7)) {
                let exited = try await run(
                    URL(fileURLWithPath: "/usr/bin/docker"),
                    ["ps", "-aq", "--filter", "label=mini.run=\(app)", "--filter", "status=exited"])
                return !exited.stdout.isEmpty
            }
            // What waits is the output, not copies of the buffers it was cut from.
            let grown = residentKilobytes(of: minid.process.processIdentifier) - rssBefore
            #expect(grown < 40_000, "minid grew by \(grown) KB holding 12 MB of output")
            let result = try await session
            #expect(result.stdout == "first 12000000\nmini:0\n", "\(result)")
        }
    }

    @Test(
        "with input: -i passes stdin byte for byte and its end; at a terminal the command gets one, resized with mini's, Ctrl-C included"
    )
    func withInput() async throws {
        try await withMinid(app: "i") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            // 5 MB of random bytes through the command's stdin, then its end; the exit status back.
            let input = work.url.appendingPathComponent("input.bin")
            try Data((0..<5_000_000).map { _ in UInt8.random(in: 0...255) }).write(to: input)
            let piped = try await run(
                URL(fileURLWithPath: "/bin/bash"),
                [
                    "-c",
                    #""$0" run -i "$1" /bin/busybox sh -c 'sha256sum; exit 3' < "$2"; echo "status $?"; sha256sum < "$2""#,
                    binary("mini").path, app, input.path,
                ],
                environment: minid.miniEnvironment)
            let lines = piped.stdout.split(separator: "\n").map { $0.split(separator: " ").first ?? "" }
            #expect(lines.count == 3 && lines[0] == lines[2] && piped.stdout.contains("status 3\n"), "\(piped)")

            // At a terminal (a pseudo-terminal that a script drives): the command gets a terminal
            // of mini's size, and its new size, and Ctrl-C reaches it as a key; Ctrl-P Ctrl-Q
            // (the engine's default keys to detach) are keys too.
            let started = ContinuousClock.now
            let session = try await run(
                URL(fileURLWithPath: "/usr/bin/python3"),
                [
                    "-c", Self.terminalDriver, "30", "100",
                    #"tty; stty size; echo $((6*7))\r"#, #"\x10\x11\x03"#, "RESIZE:40x120", #"stty size\r"#,
                    #"/bin/busybox sleep 30\r"#, #"\x03"#, #"exit 5\r"#,
                    "--", binary("mini").path, "run", app, "/bin/busybox", "sh",
                ],
                environment: minid.miniEnvironment)
            #expect(session.status == 5, "\(session)")
            // The sleep ended at Ctrl-C, not 30 s later.
            #expect(ContinuousClock.now - started < .seconds(25), "\(session)")
            for expected in [#"/dev/pts/"#, #"30 100\r\n42"#, #"40 120"#] {
                #expect(session.stdout.contains(expected), "\(expected): \(session.stdout)")
            }
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "the one-off container was left behind")

            // Through the API with curl, the input sent whole: the body's end is stdin's end;
            // a line that is no input stops the command, and the last line says why.
            let whole = try await runWithInput(
                ["/bin/busybox", "sh", "-c", "cat; echo done"], input: [#"{"data": "aGkK"}"#], app: app, on: minid)
            #expect(whole.stdout == "hi\ndone\n" && whole.last["exitCode"] as? Int == 0, "\(whole)")
            let refusing = ContinuousClock.now
            let refused = try await runWithInput(
                ["/bin/busybox", "sleep", "30"], input: ["no input"], app: app, on: minid)
            let error = refused.last["error"] as? String ?? ""
            #expect(
                error.contains("line 2 of the request is not the run's input")
                    && error.contains("the command was stopped"), "\(refused)")
            #expect(ContinuousClock.now - refusing < .seconds(15), "the command was not stopped")
            // A line over 4 MiB, and a terminal of no size, are refused saying so.
            let long = try await runWithInput(
                ["/bin/busybox", "sh", "-c", "wc -c"],
                input: [#"{"data": "\#(String(repeating: "A", count: 5 << 20))"}"#, #"{"end": true}"#], app: app,
                on: minid)
            #expect(
                (long.last["error"] as? String)?.contains("line 2 of the request takes more than 4 MiB") == true,
                "\(long.last)")
            let noSize = try await runWithInput(
                ["/bin/busybox", "true"], input: [], terminal: ["rows": 0, "columns": 80], app: app, on: minid)
            #expect(
                (noSize.last["error"] as? String)?.contains("rows and columns run from 1 to 65535") == true,
                "\(noSize.last)")
        }
    }

    /// The resident memory of process `pid` in KB (`VmRSS`), 0 if it cannot be read.
    private func residentKilobytes(of pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// `POST /v1/apps/{app}/run/input` with curl: the run's request, then the `input` lines;
    /// returns what came on stdout and the answer's last line.
    private func runWithInput(
        _ command: [String], input: [String], terminal: [String: Int]? = nil, app: String, on minid: MinidProcess
    ) async throws -> (stdout: String, last: [String: Any]) {
        var body: [String: Any] = ["command": command]
        body["terminal"] = terminal
        let request = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        // In a file: a line of input may be longer than an argument can be.
        let file = minid.data.url.appendingPathComponent("run-\(UUID().uuidString).ndjson")
        try ([request] + input).map { $0 + "\n" }.joined().write(to: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let answer = try await run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-sS", "-N", "-X", "POST", "-H", "Authorization: Bearer \(minid.token)", "-H",
                "Content-Type: application/x-ndjson", "--data-binary", "@\(file.path)",
                "\(minid.apiURL)/v1/apps/\(app)/run/input",
            ])
        let events = answer.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let stdout = events.filter { $0["stream"] as? String == "stdout" }.compactMap {
            ($0["data"] as? String).flatMap { Data(base64Encoded: $0) }
        }
        return (String(decoding: stdout.joined(), as: UTF8.self), events.last ?? [:])
    }

    /// Runs the command after `--` in a pseudo-terminal of ROWS x COLUMNS (the first two
    /// arguments), types each argument before `--` a second apart (`RESIZE:RxC` resizes the
    /// terminal instead), prints what the terminal showed (Python's repr) and exits with the
    /// command's status (killing it after a minute).
    static let terminalDriver = #"""
        import fcntl, os, pty, select, signal, struct, sys, termios, time
        split = sys.argv.index("--")
        rows, columns, keys, command = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:split], sys.argv[split + 1:]
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp(command[0], command)
        def size(r, c):
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
        size(rows, columns)
        shown, deadline, next_key = b"", time.time() + 60, time.time() + 2
        while time.time() < deadline:
            if keys and time.time() >= next_key:
                key = keys.pop(0)
                if key.startswith("RESIZE:"):
                    size(*map(int, key[7:].split("x")))
                    os.kill(pid, signal.SIGWINCH)
                else:
                    os.write(fd, key.encode().decode("unicode_escape").encode("latin-1"))
                next_key = time.time() + 1.5
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                shown += data
        if time.time() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print(repr(shown))
        sys.exit(os.waitstatus_to_exitcode(status))
        """#

    @Test("a client killed with SIGKILL stops its command, and a minid killed mid-run removes the orphan on restart")
    func lostClients() async throws {
        try await withMinid(app: "q") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            let client = try await launchStartedRun(
                app, on: minid, output: work.url.appendingPathComponent("client.out"))
            #expect(await containers(labelled: "mini.run=\(app)").count == 1)
            kill(client.processIdentifier, SIGKILL)
            try await waitUntil(timeout: .seconds(5)) { await containers(labelled: "mini.run=\(app)").isEmpty }

            // Ctrl-\ (SIGQUIT) quits mini as it quits other programs, without a backtrace.
            let quitting = try await launchStartedRun(
                app, on: minid, output: work.url.appendingPathComponent("quit.out"))
            kill(quitting.processIdentifier, SIGQUIT)
            try await waitUntil(timeout: .seconds(5)) { !quitting.isRunning }
            let quitOutput = try String(contentsOf: work.url.appendingPathComponent("quit.out"), encoding: .utf8)
            #expect(
                quitting.terminationReason == .uncaughtSignal && quitting.terminationStatus == SIGQUIT, "\(quitOutput)")
            #expect(quitOutput == "started\n")
            try await waitUntil(timeout: .seconds(5)) { await containers(labelled: "mini.run=\(app)").isEmpty }

            // The same with input that the command does not read (so the server waits to pass
            // it on, and reads no more of the request): its client's end is still seen.
            let unread = work.url.appendingPathComponent("unread.bin")
            try Data(repeating: 7, count: 20 << 20).write(to: unread)
            let withInput = try await launchStartedRun(
                app, options: ["-i"], on: minid, output: work.url.appendingPathComponent("input.out"), stdin: unread)
            #expect(await containers(labelled: "mini.run=\(app)").count == 1)
            kill(withInput.processIdentifier, SIGKILL)
            try await waitUntil(timeout: .seconds(12)) { await containers(labelled: "mini.run=\(app)").isEmpty }
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "a run with input outlived its client")

            let orphaned = try launchMini(
                ["run", app, "/bin/busybox", "sleep", "120"], on: minid,
                output: work.url.appendingPathComponent("orphan.out"))
            defer { kill(orphaned.processIdentifier, SIGKILL) }
            try await waitUntil(timeout: .seconds(20)) { await containers(labelled: "mini.run=\(app)").count == 1 }
            #expect(
                orphaned.isRunning,
                "\((try? String(contentsOf: work.url.appendingPathComponent("orphan.out"), encoding: .utf8)) ?? "")")
            try await minid.killAndRestart()
            try await waitUntil(timeout: .seconds(10)) { await containers(labelled: "mini.run=\(app)").isEmpty }
        }
    }

    @Test("destroying an app removes its running one-off containers too, and their clients and followed logs end")
    func destroyRemovesRuns() async throws {
        try await withMinid(app: "d") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            let output = work.url.appendingPathComponent("run.out")
            let client = try await launchStartedRun(app, on: minid, output: output)
            let logsOutput = work.url.appendingPathComponent("logs.out")
            let logs = try launchMini(["logs", "-f", app], on: minid, output: logsOutput)
            let destroyed = try await minid.mini(["apps", "destroy", app, "--confirm", app])
            #expect(destroyed.status == 0, "\(destroyed)")
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "a one-off outlived its app")
            try await waitUntil(timeout: .seconds(10)) { !client.isRunning }
            try #require(!client.isRunning, "the run's client did not end")
            #expect(client.terminationStatus != 0)
            try await waitUntil(timeout: .seconds(10)) { !logs.isRunning }
            try #require(!logs.isRunning, "the followed log did not end")
            let followed = (try? String(contentsOf: logsOutput, encoding: .utf8)) ?? ""
            #expect(logs.terminationStatus == 1 && followed.contains("the app was destroyed"), "\(followed)")
        }
    }

    @Test("a run whose token is revoked is stopped within seconds, its container removed; mini exits 4")
    func revokedTokenStopsRun() async throws {
        try await withMinid(app: "t") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            let created = try await run(
                binary("minid"), ["tokens", "create", "runner", "--app", app, "--data-dir", minid.dataDirectory])
            let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let output = work.url.appendingPathComponent("run.out")
            let client = try await launchStartedRun(app, on: minid, output: output, token: token)
            let revoked = try await run(
                binary("minid"), ["tokens", "revoke", "runner", "--data-dir", minid.dataDirectory])
            #expect(revoked.status == 0, "\(revoked)")
            let start = ContinuousClock.now
            try await waitUntil(timeout: .seconds(20)) { !client.isRunning }
            try #require(!client.isRunning, "the run's client did not end")
            let said = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            #expect(client.terminationStatus == 4 && said.contains("token of this request was revoked"), "\(said)")
            // A second to notice, SIGTERM (sh as PID 1 ignores it), SIGKILL 10 s later.
            #expect(ContinuousClock.now - start < .seconds(14))
            try await waitUntil(timeout: .seconds(10)) { await containers(labelled: "mini.run=\(app)").isEmpty }
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "the one-off container was left behind")
        }
    }

    @Test("minid stopping (SIGTERM) stops a run and ends a followed log at once, saying so, and exits cleanly")
    func minidStops() async throws {
        try await withMinid(app: "t") { minid, app, work in
            try await deploy(app, from: work, on: minid)
            let (runOutput, logsOutput) = (
                work.url.appendingPathComponent("run.out"), work.url.appendingPathComponent("logs.out")
            )
            let runClient = try await launchStartedRun(app, on: minid, output: runOutput)
            let logsClient = try launchMini(["logs", "-f", app], on: minid, output: logsOutput)
            // The followed log is open once it shows a request (httpd -v logs each).
            try await waitUntil(timeout: .seconds(20)) {
                _ = try? await minid.getThroughProxy(host: "\(app).localhost")
                return (try? String(contentsOf: logsOutput, encoding: .utf8))?.isEmpty == false
            }
            let stopping = ContinuousClock.now
            kill(minid.process.processIdentifier, SIGTERM)
            try await waitUntil(timeout: .seconds(40)) { !minid.process.isRunning }
            try #require(!minid.process.isRunning, "minid did not stop within 40 s of SIGTERM")
            #expect(ContinuousClock.now - stopping < .seconds(20), "minid waited for the run")
            #expect(minid.process.terminationStatus == 0, "\(minid.log())")
            runClient.waitUntilExit()
            logsClient.waitUntilExit()
            let run = (try? String(contentsOf: runOutput, encoding: .utf8)) ?? ""
            #expect(
                runClient.terminationStatus == 3 && run.contains("minid is stopping: the command was stopped"),
                "a run cut by minid stopping exits 3, as a followed log does: \(run)"
            )
            let logs = (try? String(contentsOf: logsOutput, encoding: .utf8)) ?? ""
            #expect(logs.contains("minid is stopping: the stream ends"), "\(logs)")
            #expect(logsClient.terminationStatus == 3, "a followed log cut by minid stopping exits 3")
            #expect(await containers(labelled: "mini.run=\(app)").isEmpty, "the run's container was left behind")
        }
    }

    @Test("refusals: an unknown app, an app without a release, no command, a bad variable name")
    func refusals() async throws {
        try await withMinid(app: "n") { minid, app, _ in
            let unknown = try await minid.mini(["run", app, "ls"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no app '\(app)'"), "\(unknown)")
            let created = try await minid.mini(["apps", "create", app])
            try #require(created.status == 0, "\(created)")
            let unreleased = try await minid.mini(["run", app, "ls"])
            #expect(unreleased.status == 1 && unreleased.stderr.contains("deploy it first"), "\(unreleased)")
            // Its logs are empty, and mini says why.
            let noLogs = try await minid.mini(["logs", app])
            #expect(noLogs.status == 0 && noLogs.stdout.isEmpty, "\(noLogs)")
            #expect(noLogs.stderr.contains("has no release yet"), "\(noLogs)")
            let noCommand = try await minid.mini(["run", app])
            #expect(noCommand.status == 2, "\(noCommand)")
            let badKey = try await minid.mini(["run", "-e", "1X=y", app, "ls"])
            #expect(badKey.status == 2 && badKey.stderr.contains("not a valid variable name"), "\(badKey)")

            for body in [
                #"{"command": []}"#, #"{"command": ["ls"], "env": {"PORT": "1"}}"#, #"{"cmd": "ls"}"#,
                #"{"command": ["a\u0000b"]}"#,
            ] {
                let answer = try await run(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    [
                        "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H",
                        "Authorization: Bearer \(minid.token)", "-H", "Content-Type: application/json", "--data", body,
                        "\(minid.apiURL)/v1/apps/\(app)/run",
                    ])
                #expect(answer.stdout == "400", "\(body) answered \(answer.stdout)")
            }
        }
    }

    private func deploy(_ app: String, from work: TemporaryDirectory, on minid: MinidProcess) async throws {
        let folder = try copyExample("hello", into: work, as: app)
        let deploy = try await minid.mini(["deploy", folder.path, "--app", app])
        try #require(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
    }

    /// Starts `mini run [options] app` with a command that says "started" and sleeps for two
    /// minutes, and waits until it has said so; its output goes to `output`.
    private func launchStartedRun(
        _ app: String, options: [String] = [], on minid: MinidProcess, output: URL, token: String? = nil,
        stdin: URL? = nil
    ) async throws -> Process {
        let client = try launchMini(
            ["run"] + options + [app, "/bin/busybox", "sh", "-c", "echo started; exec /bin/busybox sleep 120"],
            on: minid, output: output, token: token, stdin: stdin)
        try await waitUntil(timeout: .seconds(20)) {
            (try? String(contentsOf: output, encoding: .utf8))?.contains("started") == true
        }
        return client
    }

    /// Starts `mini arguments` against `minid` without waiting for it; its output goes to `output`.
    private func launchMini(
        _ arguments: [String], on minid: MinidProcess, output: URL, token: String? = nil, stdin: URL? = nil
    ) throws -> Process {
        let process = Process()
        process.executableURL = binary("mini")
        process.arguments = arguments
        var environment = minid.miniEnvironment
        environment["MINI_TOKEN"] = token ?? environment["MINI_TOKEN"]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        process.standardInput = try stdin.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
        try process.run()
        return process
    }
}
