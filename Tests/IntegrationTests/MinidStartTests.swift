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

    @Test("a worker that keeps dying is restarted with a growing backoff, and minid stops at once during one")
    func workerRestartBackoff() async throws {
        let minid = try MinidProcess(workers: 1)
        do {
            try await minid.waitUntilReady()
            // Backoffs of 1, 2 and 4 s; the fourth death starts one of 8 s.
            for _ in 1...3 {
                let worker = try #require(await minid.workerPID(), "no worker process found")
                kill(worker, SIGKILL)
                try await waitUntil(timeout: .seconds(10)) { try await minid.workerPID().map { $0 != worker } ?? false }
            }
            kill(try #require(await minid.workerPID(), "no worker process found"), SIGKILL)
            try await waitUntil { minid.log().contains("8.0 seconds") }
            let stopping = ContinuousClock.now
            kill(minid.process.processIdentifier, SIGTERM)
            try await waitUntil(timeout: .seconds(30)) { !minid.process.isRunning }
            #expect(ContinuousClock.now - stopping < .seconds(3), "minid waited out the worker's backoff")
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
    }

    @Test("minid serve --workers 0 runs the API and the proxy alone, and stops cleanly")
    func withoutWorkers() async throws {
        let minid = try MinidProcess(workers: 0)
        try await minid.waitUntilReady()
        let apps = try await minid.mini(["apps", "--json"])
        #expect(apps.status == 0, "\(apps.stderr)")
        // What it says at start reaches a log file (as systemd's journal) at once, not at exit.
        #expect(
            minid.log().contains("Created the admin API token in \(minid.dataDirectory)/admin.token"), "\(minid.log())")
        #expect(minid.log().contains("mini is running."), "\(minid.log())")
        // Let a supervisor that returned at once have ended the service group.
        try await Task.sleep(for: .milliseconds(500))
        #expect(minid.process.isRunning, "minid ended: \(minid.log())")
        // With the admin token revoked, the next start says how to make a token instead of
        // pointing at the file.
        for step in [["tokens", "create", "ops"], ["tokens", "revoke", "admin"]] {
            let done = try await run(binary("minid"), step + ["--data-dir", minid.dataDirectory])
            #expect(done.status == 0, "\(step): \(done.stderr)")
        }
        try await minid.killAndRestart()
        #expect(minid.log().contains("admin.token holds no valid token"), "\(minid.log())")
        await minid.stop()
    }

    @Test("a --bind that is no address is named as such; a folder refused at start is left as it was")
    func startRefusals() async throws {
        let bind = try await run(
            binary("minid"), ["serve", "--bind", "nosuchhost.invalid", "--data-dir", "/nonexistent"],
            timeout: .seconds(20))
        #expect(bind.status == 1 && bind.stderr.contains("neither an IP address nor a name"), "\(bind)")
        let data = try TemporaryDirectory()
        defer { data.cleanup() }
        let folder = data.url.appendingPathComponent("kept").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "token\n".write(toFile: folder + "/admin.token", atomically: false, encoding: .utf8)
        let worker = try await run(binary("minid"), ["worker", "--data-dir", folder], timeout: .seconds(20))
        #expect(worker.status == 1 && worker.stderr.contains("holds admin.token from an earlier start"), "\(worker)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["admin.token"])
    }

    @Test("minid version prints the version, as minid --version and mini version do")
    func version() async throws {
        let said = try await run(binary("minid"), ["version"])
        let flag = try await run(binary("minid"), ["--version"])
        #expect(said.status == 0 && said.stdout == "minid \(flag.stdout)", "\(said) \(flag)")
    }

    @Test("a --domain apps cannot be served under (a URL, a port, empty) is refused at start")
    func badDomainRefused() async throws {
        for domain in ["http://example.com", "example.com:80", "", ".example.com"] {
            let started = try await run(
                binary("minid"), ["serve", "--data-dir", "/nonexistent", "--domain", domain], timeout: .seconds(20))
            #expect(started.status == 64 && started.stderr.contains("--domain"), "\(domain): \(started)")
        }
    }

    @Test("options outside what they can mean are usage errors of their command (exit 64), naming the option")
    func nonsenseOptionsRefused() async throws {
        for (arguments, option) in [
            (["serve", "--api-port", "70000"], "--api-port"),
            (["serve", "--proxy-port", "0"], "--proxy-port"),
            (["api", "--api-port", "-1"], "--api-port"),
            (["proxy", "--port", "65536"], "--port"),
            (["proxy", "--route", "bad"], "--route"),
            (["serve", "--workers", "500"], "--workers"),
            (["worker", "--build-timeout", "0"], "--build-timeout"),
            (["serve", "--health-timeout", "0"], "--health-timeout"),
            (["worker", "--keep-jobs", "3"], "--keep-jobs"),  // the worker runs no janitor
            (["proxy", "--tls-port", "8443"], "--tls-certs"),
            (["serve", "--redirect-https"], "--tls-port"),
            (["serve", "--tls-port", "8080", "--tls-certs", "/tmp"], "--tls-port must differ from --proxy-port"),
            (["api", "--tls-port", "0"], "--tls-port"),
            (["serve", "--tls-public-port", "443"], "--tls-port"),
            (["serve", "--public-port", "0"], "--public-port"),
        ] {
            let started = try await run(
                binary("minid"), arguments + ["--data-dir", "/nonexistent"], timeout: .seconds(20))
            #expect(
                started.status == 64 && started.stderr.contains(option)
                    && started.stderr.contains("minid \(arguments[0])"),
                "\(arguments): \(started)")
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)").path
        for arguments in [["tokens", "list"], ["tokens", "create", "ci"]] {
            let listed = try await run(binary("minid"), arguments + ["--data-dir", empty], timeout: .seconds(20))
            #expect(
                listed.status == 1 && listed.stderr.contains("no mini database in \(empty)"), "\(arguments): \(listed)")
        }
    }

    @Test("a second proxy on a data folder is refused, and the running proxy keeps its control socket")
    func secondProxyRefused() async throws {
        let minid = try MinidProcess(workers: 0)
        try await minid.waitUntilReady()
        let socket = minid.dataDirectory + "/proxy.sock"
        let before = try FileManager.default.attributesOfItem(atPath: socket)[.systemFileNumber] as? Int
        let second = try await run(
            binary("minid"), ["proxy", "--data-dir", minid.dataDirectory, "--port", String(try freePort())],
            timeout: .seconds(20))
        #expect(second.status != 0, "\(second)")
        #expect(second.stderr.contains("a proxy already serves"), "\(second.stderr)")
        let after = try FileManager.default.attributesOfItem(atPath: socket)[.systemFileNumber] as? Int
        #expect(before != nil && before == after, "the socket was replaced or removed")
        await minid.stop()
    }

    @Test("a proxy started with a --domain over an earlier custom domain warns that the app hosts win there")
    func customDomainUnderNewDomain() async throws {
        let minid = try MinidProcess(role: "api", [])
        try await minid.waitUntilReady()
        #expect(try await minid.mini(["apps", "create", "web"]).status == 0)
        let added = try await minid.mini(["domains", "add", "web", "shop.example.com"])
        #expect(added.status == 0, "\(added)")
        let proxy = try await run(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            [
                "-s", "INT", "3", binary("minid").path, "proxy", "--data-dir", minid.dataDirectory,
                "--domain", "example.com", "--port", String(try freePort()),
            ],
            timeout: .seconds(20))
        let said = proxy.stdout + proxy.stderr
        #expect(said.contains("a custom domain is under --domain") && said.contains("shop.example.com"), "\(said)")
        await minid.stop()
    }

    @Test("a client that keeps sending an upload after its 401 is cut off instead of read to the end")
    func refusedUploadIsCut() async throws {
        let minid = try MinidProcess(workers: 0)
        try await minid.waitUntilReady()
        // Sends a 10 GB upload with a wrong token, without waiting for an answer, for at most
        // 10 s; prints how many bytes went out and the answer's status line.
        let script = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"POST /v1/apps/x/deploys HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer wrong\\r\\n"
                      b"Content-Length: 10000000000\\r\\n\\r\\n")
            chunk, sent, start = b"\\0" * 65536, 0, time.time()
            try:
                while time.time() - start < 10:
                    sent += s.send(chunk)
            except OSError:
                pass
            answer = b""
            try:
                s.settimeout(2)
                answer = s.recv(200)
            except OSError:
                pass
            print(sent, answer.split(b"\\r\\n")[0].decode(errors="replace"))
            """
        let result = try await run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, String(minid.apiPort)],
            timeout: .seconds(30))
        let fields = result.stdout.split(separator: " ", maxSplits: 1)
        let sent = Int(fields.first ?? "") ?? -1
        // Beyond the 1 MiB allowed after the answer, only what socket buffers held went out.
        #expect(sent >= 0 && sent < 64 << 20, "sent \(sent) bytes: \(result)")

        // An upload pipelined behind another request is read whole, though the request
        // before it is answered while its body streams in.
        let pipelined = """
            import io, os, socket, sys, tarfile
            out = io.BytesIO()
            with tarfile.open(fileobj=out, mode="w:gz") as tar:
                for name, data in [("Dockerfile", b"FROM scratch\\n"), ("noise", os.urandom(3 << 20))]:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            body = out.getvalue()
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
                      + b"POST /v1/apps/piped/deploys HTTP/1.1\\r\\nHost: x\\r\\nAuthorization: Bearer "
                      + sys.argv[2].encode() + b"\\r\\nContent-Type: application/gzip\\r\\n"
                      + b"Content-Length: " + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
            answers = b""
            s.settimeout(20)
            while answers.count(b"HTTP/1.1 ") < 2:
                part = s.recv(65536)
                if not part:
                    break
                answers += part
            print(" ".join(part[:3].decode() for part in answers.split(b"HTTP/1.1 ")[1:]))
            """
        let piped = try await run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", pipelined, String(minid.apiPort), minid.token],
            timeout: .seconds(60))
        #expect(piped.stdout.hasPrefix("200 202"), "the statuses of the two answers: \(piped)")

        // curl sends `Expect: 100-continue` with a body over 1 MiB and waits a second for the
        // answer before it sends the body anyway: the API says continue at once.
        let upload = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                #"d=$(mktemp -d); cp -r "$2"/. "$d"/; head -c 3000000 /dev/urandom > "$d/noise"; "#
                    + #"tar czf "$d.tgz" -C "$d" .; curl -sS -o /dev/null -w "%{http_code} %{time_total}" "#
                    + #"-H "Authorization: Bearer $1" --data-binary @"$d.tgz" "$0/v1/apps/expect/deploys"; "#
                    + #"rm -rf "$d" "$d.tgz""#,
                minid.apiURL, minid.token, packageRoot.appendingPathComponent("examples/hello").path,
            ],
            timeout: .seconds(30))
        let answer = upload.stdout.split(separator: " ")
        #expect(answer.first == "202", "\(upload)")
        #expect((Double(answer.last ?? "") ?? 9) < 0.9, "curl waited for a 100 Continue: \(upload)")
        await minid.stop()
    }

    @Test("instance ports inside the kernel's ephemeral range are warned about at the worker's start")
    func instancePortsInEphemeralRange() async throws {
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let first = try #require(Int(range.split(whereSeparator: \.isWhitespace).first ?? ""))
        let data = try TemporaryDirectory()
        defer { data.cleanup() }
        let worker = try await run(
            URL(fileURLWithPath: "/usr/bin/timeout"),
            [
                "-s", "INT", "3", binary("minid").path, "worker", "--data-dir", data.url.path,
                "--instance-ports", "\(first)-\(first + 100)",
            ],
            timeout: .seconds(20))
        #expect(worker.stderr.contains("overlaps the kernel's ephemeral ports"), "\(worker.stderr)")
    }

    @Test("minid raises its soft open-file limit to the hard one (each proxied request takes two)")
    func openFileLimitRaised() async throws {
        let result = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                #"ulimit -Sn 512; "$0" proxy --port "$1" & p=$!; sleep 1; "#
                    + #"grep 'Max open files' /proc/$p/limits; ulimit -Hn; kill $p; wait $p"#,
                binary("minid").path, String(try freePort()),
            ],
            timeout: .seconds(20))
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let soft = lines.first?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first
        #expect(soft != nil && soft.map(String.init) == lines.last, "\(result)")
    }

    @Test("--proxy-bind puts the proxy on its own address; the API stays on --bind")
    func proxyOnItsOwnAddress() async throws {
        // 127.0.0.2 is loopback too: the test reaches nothing outside the machine.
        let minid = try MinidProcess(workers: 0, extraArguments: ["--proxy-bind", "127.0.0.2"])
        try await minid.waitUntilReady()
        func status(_ url: String) async throws -> String {
            let result = try await run(
                URL(fileURLWithPath: "/usr/bin/curl"),
                ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: none.localhost", url],
                timeout: .seconds(10))
            return result.stdout
        }
        #expect(try await status("http://127.0.0.2:\(minid.proxyPort)/") == "404", "the proxy answers there")
        #expect(try await status("http://127.0.0.1:\(minid.proxyPort)/") == "000", "and only there")
        #expect(try await status("http://127.0.0.2:\(minid.apiPort)/healthz") == "000", "the API is not there")
        #expect(try await status("\(minid.apiURL)/healthz") == "200")
        await minid.stop()
    }

    @Test(
        "the API lets go of a connection that sends nothing, but never of a followed log; a job waiting for a worker is explained"
    )
    func idleConnectionsClosed() async throws {
        let minid = try MinidProcess(workers: 0, extraArguments: ["--api-idle-timeout", "1"])
        do {
            try await checkIdleConnections(minid)
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
    }

    private func checkIdleConnections(_ minid: MinidProcess) async throws {
        try await minid.waitUntilReady()
        // A request head that never ends: closed after about a second (cat sees the end).
        let stalled = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                #"exec 3<>"/dev/tcp/127.0.0.1/$0"; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3; timeout 5 cat <&3"#,
                String(minid.apiPort),
            ],
            timeout: .seconds(10)
        )
        #expect(stalled.status == 0, "the connection was still open after 5 s: \(stalled.status)")

        // With no worker the job stays queued, and its followed log stays open: curl's own
        // time limit ends it (28), not the server.
        let work = try TemporaryDirectory()
        defer { work.cleanup() }
        let folder = try copyExample("hello", into: work, as: "idle")
        let deploy = try await minid.mini(["deploy", folder.path, "--app", "idle", "--async", "--json"])
        try #require(deploy.status == 0, "\(deploy.stderr)")
        let queued = try JSONDecoder().decode(Queued.self, from: Data(deploy.stdout.utf8))
        #expect(queued.url == "http://idle.localhost:\(minid.proxyPort)", "\(deploy.stdout)")
        #expect(deploy.stderr.contains("job \(queued.job.id) queued: a deploy of idle"), "\(deploy.stderr)")
        let job = queued.job.id
        let follow = try await run(
            URL(fileURLWithPath: "/usr/bin/curl"),
            [
                "-sS", "--max-time", "3", "-H", "Authorization: Bearer \(minid.token)",
                "\(minid.apiURL)/v1/jobs/\(job)/log?follow=1",
            ],
            timeout: .seconds(10)
        )
        #expect(follow.status == 28, "the followed log ended early: \(follow.status) \(follow.stderr)")

        // A job that waits for a worker is explained, once, after 10 s, by `status --wait` and
        // `logs --build -f` alike; Ctrl-C twice (an impatient user) says once that it goes on.
        let (statusErrors, logErrors) = (
            work.url.appendingPathComponent("status.err"), work.url.appendingPathComponent("logs.err")
        )
        let waiting = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                #""$0" status "$1" --wait 2>"$2" & s=$!; "$0" logs --build "$1" -f 2>"$3" & l=$!; "#
                    + #"sleep 14; kill -INT $s $l; kill -INT $s $l; wait $s; echo "status:$?"; wait $l; echo "logs:$?""#,
                binary("mini").path, "\(job)", statusErrors.path, logErrors.path,
            ],
            environment: minid.miniEnvironment, timeout: .seconds(30))
        #expect(waiting.stdout.contains("status:130") && waiting.stdout.contains("logs:130"), "\(waiting.stdout)")
        for file in [statusErrors, logErrors] {
            let errors = try String(contentsOf: file, encoding: .utf8)
            #expect(
                errors.components(separatedBy: "is still queued").count == 2, "\(file.lastPathComponent): \(errors)")
            #expect(
                errors.components(separatedBy: "stopped following").count == 2, "\(file.lastPathComponent): \(errors)")
        }

        // A followed deploy replaced by a newer one while it waits names the newer job.
        let replaced = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c",
                #""$0" deploy "$1" --app idle & d=$!; sleep 2; newer=$("$0" deploy "$1" --app idle --async); "#
                    + #"wait $d; echo "deploy:$? newer:$newer""#,
                binary("mini").path, folder.path,
            ],
            environment: minid.miniEnvironment, timeout: .seconds(60))
        let newer = replaced.stdout.components(separatedBy: "newer:").last?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(replaced.stdout.contains("deploy:1"), "\(replaced.stdout)\(replaced.stderr)")
        #expect(
            replaced.stderr.contains("cancelled: superseded by job \(newer ?? "?"), a newer deploy of idle"),
            "\(replaced.stderr)")
    }

    private struct Queued: Decodable {
        struct Job: Decodable { var id: Int }
        var job: Job
        var url: String
    }

    @Test(
        "a second minid serve or minid api on the same data folder stops at once, naming the first one's pid",
        arguments: [["serve", "--workers", "0"], ["api"]]
    )
    func secondServeOnOneFolder(role: [String]) async throws {
        let first = try MinidProcess(workers: 0)
        try await first.waitUntilReady()
        let second = try await run(
            binary("minid"),
            role + [
                "--data-dir", first.dataDirectory,
                "--api-port", String(try freePort()), "--proxy-port", String(try freePort()),
            ],
            timeout: .seconds(30)
        )
        #expect(second.status == 1, "\(second.stdout)\(second.stderr)")
        #expect(
            second.stderr.contains("another minid serve or minid api (pid \(first.process.processIdentifier)) runs on"),
            "\(second.stderr)")
        #expect(!second.stdout.contains("mini is running"), "\(second.stdout)")
        await first.stop()
    }
}
