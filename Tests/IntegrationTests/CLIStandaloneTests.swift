import Foundation
import MiniCore
import Testing

/// `mini` on its own: its saved settings, and what it does when the server is not there.
@Suite("mini without a server")
struct CLIStandaloneTests {
    @Test("a stopped server is reported at once, with exit 3 and what to do, by plain calls and by a deploy")
    func serverNotRunning() async throws {
        let port = try freePort()
        let config = try TemporaryDirectory()
        defer { config.cleanup() }
        let hello = packageRoot.appendingPathComponent("examples/hello").path
        // An address, and a name that resolves to two (127.0.0.1 and ::1).
        for host in ["http://127.0.0.1:\(port)", "http://localhost:\(port)"] {
            let environment = ["MINI_HOST": host, "MINI_TOKEN": "some-token", "XDG_CONFIG_HOME": config.url.path]
            for arguments in [["apps"], ["status", "1", "--wait"], ["deploy", hello, "--app", "hello"]] {
                let started = ContinuousClock.now
                let result = try await run(binary("mini"), arguments, environment: environment, timeout: .seconds(60))
                let took = ContinuousClock.now - started
                #expect(result.status == 3, "\(arguments): \(result.stderr)")
                #expect(
                    result.stderr.contains("cannot reach \(host): connection refused"), "\(arguments): \(result.stderr)"
                )
                #expect(
                    result.stderr.contains("To use another server, set MINI_HOST="), "\(arguments): \(result.stderr)")
                // A refused connection is not retried until a connect timeout (it was, for 30 s).
                #expect(took < .seconds(3), "\(arguments) took \(took)")
            }
        }
    }

    @Test("a server that is not mini's API (the proxy's port, say) is named as such, not read as an API refusal")
    func notTheAPI() async throws {
        let port = try freePort()
        let folder = try TemporaryDirectory()
        defer { folder.cleanup() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", folder.url.path]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL: SIGTERM did not end it here (the runner may hand it on blocked).
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let environment = ["MINI_HOST": "http://127.0.0.1:\(port)", "MINI_TOKEN": "some-token"]
        var result = try await run(binary("mini"), ["apps"], environment: environment)
        for _ in 0..<50 where result.status == 3 {  // until the server listens
            try await Task.sleep(for: .milliseconds(100))
            result = try await run(binary("mini"), ["apps"], environment: environment)
        }
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("answered 404 Not Found"), "\(result.stderr)")
        #expect(result.stderr.contains("not as mini's API does"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "the answer's lines kept:\n\(result.stderr)")
    }

    @Test(
        "env, scale, run, release-command, limits, rollback and job ids refuse bad input as usage errors, before any call"
    )
    func environmentUsage() async throws {
        // No server listens there: each refusal comes from the CLI itself.
        let environment = ["MINI_HOST": "http://127.0.0.1:\(try freePort())", "MINI_TOKEN": "some-token"]
        for (arguments, message) in [
            (["env", "set", "app", "FOO"], "'FOO' is not KEY=VALUE"),
            (["env", "app", "A=1"], "to set them: mini env set app A=1"),
            (["env", "set", "app", "A=1", "A=2"], "A is given twice"),
            (["env", "set", "app", "foo-bar=1"], "'foo-bar' is not a valid variable name"),
            (["env", "set", "app", "PORT=80"], "PORT is set by mini"),
            (["env", "unset", "app", "9LIVES"], "'9LIVES' is not a valid variable name"),
            (["scale", "app", "21"], "an app runs 0 to 20 instances"),
            (["run", "app"], "give the command to run after the app"),
            (["run", "app", ""], "give the command to run after the app"),
            (["run", "-e", "9LIVES=1", "app", "true"], "'9LIVES' is not a valid variable name"),
            (["release-command", "set", "app", "", "x"], "give the command after the app"),
            (["limits", "set", "app", "--memory", "5m"], "the memory limit must be at least 6m"),
            (["limits", "set", "app", "--cpus", "65"], "cpus must be between 0.01 and 64"),
            (["limits", "set", "app", "--memory", "9000000000g"], "is not a size"),
            (["rollback", "app", "v0"], "'v0' is not a release"),
            (["rollback", "app", "vv"], "'vv' is not a release"),
            (["status", "0"], "job ids are positive integers"),
            (["env", "sett", "app", "A=1"], "would show the variables of an app named sett"),
            (["cancel", "--", "-1"], "job ids are positive integers"),
            (["logs", "--build", "0"], "job ids are positive integers"),
            (["logs", "app", "--since", "yesterday"], "--since takes a duration back from now"),
            (["logs", "--build", "3", "--since", "1h"], "--since applies to an app's logs"),
        ] {
            let result = try await run(binary("mini"), arguments, environment: environment)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("Usage: mini \(arguments[0])"), "\(arguments): \(result.stderr)")
        }
    }

    @Test("mini version prints its own version also when no server answers, saying so on stderr")
    func versionWithoutServer() async throws {
        let environment = ["MINI_HOST": "http://127.0.0.1:\(try freePort())", "MINI_TOKEN": "some-token"]
        let plain = try await run(binary("mini"), ["version"], environment: environment)
        #expect(plain.status == 0 && plain.stdout == "mini \(MiniVersion.current)\n", "\(plain)")
        #expect(plain.stderr.contains("no version from the server"), "\(plain)")
        let json = try await run(binary("mini"), ["version", "--json"], environment: environment)
        #expect(
            json.stdout.contains(#""server":null"#) && json.stdout.contains(#""version":"\#(MiniVersion.current)""#))
    }

    @Test("mini config saves the host and token (mode 0600) and shows what is in effect and where it comes from")
    func config() async throws {
        let config = try TemporaryDirectory()
        defer { config.cleanup() }
        let isolated = ["XDG_CONFIG_HOME": config.url.path, "MINI_HOST": "", "MINI_TOKEN": ""]
        func mini(_ arguments: [String], _ environment: [String: String] = [:]) async throws -> ProcessResult {
            try await run(binary("mini"), arguments, environment: isolated.merging(environment) { $1 })
        }
        let fresh = try await mini(["config", "show"])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout.contains("host   http://127.0.0.1:7070  (default)"), "\(fresh.stdout)")
        #expect(fresh.stdout.contains("token  not set"), "\(fresh.stdout)")

        #expect(try await mini(["config", "set-host", "http://127.0.0.1:7171"]).status == 0)
        #expect(try await mini(["config", "set-token", "abcdefghijkl1234"]).status == 0)
        let file = config.url.appendingPathComponent("mini/config.json").path
        let permissions = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        // Without an argument the token comes from standard input (out of ps and the history).
        let piped = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            ["-c", #"printf 'piped0token0123\n' | "$0" config set-token"#, binary("mini").path],
            environment: isolated)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8).contains("piped0token0123"))
        let empty = try await run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", #""$0" config set-token < /dev/null"#, binary("mini").path],
            environment: isolated)
        #expect(empty.status == 2, "\(empty.stdout)\(empty.stderr)")
        #expect(empty.stderr.contains("no token on standard input"), "\(empty.stderr)")
        let blank = try await run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", #"echo '  ' | "$0" config set-token"#, binary("mini").path],
            environment: isolated)
        #expect(blank.status == 2 && blank.stderr.contains("no token was given"), "\(blank.stderr)")
        #expect(try await mini(["config", "set-token", "abcdefghijkl1234"]).status == 0)
        let saved = try await mini(["config", "show"])
        #expect(saved.stdout.contains("host   http://127.0.0.1:7171  (\(file))"), "\(saved.stdout)")
        #expect(saved.stdout.contains("token  ************1234  (\(file))"), "\(saved.stdout)")

        let overridden = try await mini(
            ["config", "show", "--host", "http://127.0.0.1:7272"], ["MINI_TOKEN": "from-the-environment"])
        #expect(overridden.stdout.contains("host   http://127.0.0.1:7272  (--host)"), "\(overridden.stdout)")
        #expect(overridden.stdout.contains("(MINI_TOKEN)"), "\(overridden.stdout)")

        // A broken config file is named with what to do; host and token given otherwise do
        // without it.
        try "{bad".write(toFile: file, atomically: false, encoding: .utf8)
        let broken = try await mini(["apps"])
        #expect(broken.status == 1 && broken.stderr.contains("is not a mini config file"), "\(broken)")
        #expect(!broken.stderr.contains("DecodingError"), "\(broken.stderr)")
        let bypassed = try await mini(["apps", "--host", "http://127.0.0.1:9", "--token", "abcdefghijkl1234"])
        #expect(bypassed.status == 3, "the server is what fails now: \(bypassed)")
        try FileManager.default.removeItem(atPath: file)
        #expect(try await mini(["config", "set-host", "http://127.0.0.1:7171"]).status == 0)
        #expect(try await mini(["config", "set-token", "abcdefghijkl1234"]).status == 0)

        let bad = try await mini(["config", "set-host", "not a url"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("is not an http(s) URL"), "\(bad.stderr)")
        let query = try await mini(["config", "set-host", "http://127.0.0.1:7171/?token=x"])
        #expect(query.status == 2 && query.stderr.contains("has more than a server's URL"), "\(query)")
        // A path is kept (a proxy in front may serve the API under it), with a note on where calls go.
        let prefixed = try await mini(["config", "set-host", "http://127.0.0.1:7171/api"])
        #expect(
            prefixed.status == 0 && prefixed.stderr.contains("calls go to http://127.0.0.1:7171/api/v1/"), "\(prefixed)"
        )
        #expect(try await mini(["config", "set-host", "http://127.0.0.1:7171"]).status == 0)

        // A usage error found while running names the command's own usage.
        let noToken = try await run(
            URL(fileURLWithPath: "/bin/bash"), ["-c", #""$0" config set-token < /dev/null"#, binary("mini").path],
            environment: isolated)
        #expect(noToken.status == 2)
        #expect(noToken.stderr.contains("Usage: mini config set-token"), "\(noToken.stderr)")

        // A mistyped command is named with the one it most likely meant, as git does: as the
        // error where the word can only be a command, after the error where it may be an app.
        for (typed, meant, isTheError) in [
            (["env", "sett", "web", "A=1"], "mini env set", false),
            (["apps", "destory", "web"], "mini apps destroy", false),
            (["deplyo"], "mini deploy", true), (["config", "sethost", "http://x"], "mini config set-host", true),
        ] {
            let mistyped = try await mini(typed)
            #expect(mistyped.status == 2, "\(typed): \(mistyped)")
            #expect(mistyped.stderr.lowercased().contains("did you mean '\(meant)'?"), "\(typed): \(mistyped.stderr)")
            #expect(mistyped.stderr.hasPrefix("Error: '") == isTheError, "\(typed): \(mistyped.stderr)")
        }
        // An app whose name is near a command's gets the error about what was typed, no guess.
        let appNamed = try await mini(["env", "web", "A=1"])
        #expect(appNamed.status == 2 && appNamed.stderr.contains("to set them: mini env set web"), "\(appNamed)")
        #expect(!appNamed.stderr.contains("did you mean"), "\(appNamed.stderr)")

        // An argument that is not UTF-8 is refused, not saved with its bad bytes replaced.
        let notUTF8 = try await run(
            URL(fileURLWithPath: "/bin/bash"),
            ["-c", #""$0" env set web "X=$(printf 'a\377b')""#, binary("mini").path],
            environment: isolated)
        #expect(notUTF8.status == 2 && notUTF8.stderr.contains("is not valid UTF-8"), "\(notUTF8)")

        // A bad --host is named as such, with what to give instead.
        let badOption = try await mini(["apps", "--host", "127.0.0.1:7070"])
        #expect(badOption.status == 2)
        #expect(
            badOption.stderr.contains("(from --host) is not an http(s) URL: pass --host http://HOST:PORT"),
            "\(badOption.stderr)")
    }
}
