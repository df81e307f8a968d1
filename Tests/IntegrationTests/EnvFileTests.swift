import Foundation
import Testing

/// `mini env set --file` against a real `minid serve` (no engine needed: the app has no release).
@Suite("mini env set --file")
struct EnvFileTests {
    @Test("a .env file's variables are set, arguments win over it; a bad line is refused with its number")
    func envFile() async throws {
        let minid = try MinidProcess(workers: 0)
        do {
            try await minid.waitUntilReady()
            #expect(try await minid.mini(["apps", "create", "dotenv"]).status == 0)
            let file = minid.data.url.appendingPathComponent(".env").path
            try """
            # settings for previews
            export DATABASE_URL=postgres://db/preview?sslmode=disable
            GREETING="hello\\nworld" # two lines
            MODE=file
            """.write(toFile: file, atomically: false, encoding: .utf8)
            let set = try await minid.mini(["env", "set", "dotenv", "--file", file, "MODE=argument"])
            #expect(set.status == 0, "\(set)")
            let shown = try await minid.mini(["env", "dotenv", "--reveal", "--json"])
            let values = try #require(
                try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown)")
            let env = try #require(values["env"] as? [String: String], "\(shown)")
            #expect(env["DATABASE_URL"] == "postgres://db/preview?sslmode=disable")
            #expect(env["GREETING"] == "hello\nworld")
            #expect(env["MODE"] == "argument")

            try "A=1\nB C\n".write(toFile: file, atomically: false, encoding: .utf8)
            let bad = try await minid.mini(["env", "set", "dotenv", "--file", file])
            #expect(bad.status == 2 && bad.stderr.contains("\(file), line 2: 'B C' is not KEY=VALUE"), "\(bad)")
            let missing = try await minid.mini(["env", "set", "dotenv", "--file", file + ".missing"])
            #expect(missing.status == 2 && missing.stderr.contains("there is no such file"), "\(missing)")
            // Several files: each is read, later ones win.
            let second = minid.data.url.appendingPathComponent(".env.local").path
            try "A=1\nB=one\n".write(toFile: file, atomically: false, encoding: .utf8)
            try "B=two\n".write(toFile: second, atomically: false, encoding: .utf8)
            #expect(try await minid.mini(["env", "set", "dotenv", "--file", file, "--file", second]).status == 0)
            let both = try await minid.mini(["env", "dotenv", "--reveal"])
            #expect(both.stdout.contains("A=1") && both.stdout.contains("B=two"), "\(both)")

            // What --reveal prints is a .env file: another app gets the same variables from it,
            // a multi-line value whose lines look like variables included.
            let pem = "-----BEGIN KEY-----\nabc\nX=injected\n-----END KEY-----"
            #expect(try await minid.mini(["env", "set", "dotenv", "PEM=\(pem)", "QUOTE=say \"hi\""]).status == 0)
            let revealed = try await minid.mini(["env", "dotenv", "--reveal"])
            try revealed.stdout.write(toFile: file, atomically: false, encoding: .utf8)
            #expect(try await minid.mini(["apps", "create", "dotenv-copy"]).status == 0)
            let copied = try await minid.mini(["env", "set", "dotenv-copy", "--file", file])
            #expect(copied.status == 0, "\(copied)")
            let original = try await minid.mini(["env", "dotenv", "--reveal", "--json"])
            let copy = try await minid.mini(["env", "dotenv-copy", "--reveal", "--json"])
            #expect(copy.stdout == original.stdout && original.stdout.contains("X=injected"), "\(revealed.stdout)")
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
    }
}
