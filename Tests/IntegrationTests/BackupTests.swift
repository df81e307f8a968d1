import Foundation
import Testing

/// `minid backup` and `minid restore` against a running `minid serve` and its real SQLite file.
@Suite("minid backup and restore", .serialized)
struct BackupTests {
    @Test("a backup taken while minid runs brings back apps, environments and tokens; restore waits for minid to stop")
    func backupAndRestore() async throws {
        let minid = try MinidProcess(workers: 0)
        do {
            try await minid.waitUntilReady()
            let folder = ["--data-dir", minid.dataDirectory]
            let backup = minid.data.url.appendingPathComponent("mini-backup.sqlite").path
            for step in [["apps", "create", "keep"], ["env", "set", "keep", "SECRET=one"]] {
                let done = try await minid.mini(step)
                #expect(done.status == 0, "\(step): \(done)")
            }
            let ci = try await run(binary("minid"), ["tokens", "create", "ci"] + folder)
            #expect(ci.status == 0, "\(ci)")

            let taken = try await run(binary("minid"), ["backup", backup] + folder)
            #expect(taken.status == 0 && taken.stdout.contains(": 1 apps, 0 releases, 2 tokens"), "\(taken)")
            let mode = try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let again = try await run(binary("minid"), ["backup", backup] + folder)
            #expect(again.status == 1 && again.stderr.contains("exists: name a new file, or pass --force"), "\(again)")

            // Changes after the backup, which the restore undoes.
            for step in [["env", "set", "keep", "SECRET=two"], ["apps", "create", "later"]] {
                let done = try await minid.mini(step)
                #expect(done.status == 0, "\(step): \(done)")
            }
            #expect(try await run(binary("minid"), ["tokens", "revoke", "ci"] + folder).status == 0)
            let refused = try await run(binary("minid"), ["restore", backup] + folder)
            #expect(refused.status == 1 && refused.stderr.contains("stop"), "\(refused)")

            try await minid.stopThenStart {
                let junk = minid.data.url.appendingPathComponent("junk").path
                try "not a database\n".write(toFile: junk, atomically: false, encoding: .utf8)
                let notMini = try await run(binary("minid"), ["restore", junk] + folder)
                #expect(notMini.status == 1 && notMini.stderr.contains("is not a mini database"), "\(notMini)")
                let restored = try await run(binary("minid"), ["restore", backup] + folder)
                #expect(
                    restored.status == 0 && restored.stdout.contains("the database it replaced is at"), "\(restored)")
            }
            let env = try await minid.mini(["env", "keep", "--reveal"])
            #expect(env.stdout.contains("SECRET=one"), "\(env)")
            let apps = try await minid.mini(["apps"])
            #expect(apps.stdout.contains("keep") && !apps.stdout.contains("later"), "\(apps)")
            let tokens = try await run(binary("minid"), ["tokens", "list"] + folder)
            #expect(tokens.stdout.contains("ci"), "\(tokens)")
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
    }
}
