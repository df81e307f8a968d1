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
            // A job the backup catches queued (minid runs no worker here).
            let example = try copyExample("hello", into: minid.data, as: "site")
            let caught = try await minid.mini(["deploy", example.path, "--app", "keep", "--async"])
            let caughtID = try #require(Int(caught.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(caught)")

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
            // A job after the backup: forgotten by the restore.
            let queued = try await minid.mini(["deploy", example.path, "--app", "keep", "--async"])
            let forgotten = try #require(
                Int(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(queued)")
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
                // Again at once: the database it replaces is kept under a name of its own.
                let again = try await run(binary("minid"), ["restore", backup] + folder)
                let asides = [restored, again].compactMap { result in
                    result.stdout.firstMatch(of: /replaced is at (\S+)/).map { String($0.1) }
                }
                #expect(asides.count == 2 && asides[0] != asides[1], "\(asides)")
                #expect(asides.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            }
            let env = try await minid.mini(["env", "keep", "--reveal"])
            #expect(env.stdout.contains("SECRET=one"), "\(env)")
            let apps = try await minid.mini(["apps"])
            #expect(apps.stdout.contains("keep") && !apps.stdout.contains("later"), "\(apps)")
            let tokens = try await run(binary("minid"), ["tokens", "list"] + folder)
            #expect(tokens.stdout.contains("ci"), "\(tokens)")
            // The job the backup caught queued ended failed: its upload and log may be another timeline's.
            let ended = try await minid.mini(["status", String(caughtID), "--json"])
            #expect(
                ended.stdout.contains(#""state":"failed""#) && ended.stdout.contains(#""reason":"restored""#),
                "\(ended)")
            // Job ids go on after the forgotten job's, whose upload is still in the folder.
            let next = try await minid.mini(["deploy", example.path, "--app", "keep", "--async"])
            #expect(
                Int(next.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).map { $0 > forgotten } == true,
                "\(next)")
        } catch {
            Issue.record("\(error)\nminid log:\n\(minid.log())")
        }
        await minid.stop()
    }

    @Test("after a restore, minid serves the release the backup knew, and removes the newer one's instance")
    func restoredReleaseServes() async throws {
        try await withMinid(app: "restore", workers: 1) { minid, app, work in
            let first = try copyExample("hello", into: work, as: app)
            #expect(try await minid.mini(["deploy", first.path]).status == 0)
            let backup = minid.data.url.appendingPathComponent("backup.sqlite").path
            let taken = try await run(binary("minid"), ["backup", backup, "--data-dir", minid.dataDirectory])
            #expect(taken.status == 0, "\(taken)")

            let second = try copyExample("hello", into: work, as: "second")
            try "<h1>Second release</h1>\n".write(
                to: second.appendingPathComponent("www/index.html"), atomically: false, encoding: .utf8)
            #expect(try await minid.mini(["deploy", second.path, "--app", app]).status == 0)
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").1.contains("Second release"))

            let jobsBefore = try await minid.mini(["jobs", "--app", app, "--json"])
            let lastJob = try #require(
                (try JSONSerialization.jsonObject(with: Data(jobsBefore.stdout.utf8)) as? [String: Any])
                    .flatMap { ($0["jobs"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }.max() })
            try await minid.stopThenStart {
                let restored = try await run(binary("minid"), ["restore", backup, "--data-dir", minid.dataDirectory])
                #expect(restored.status == 0, "\(restored)")
            }
            // The reconciler's first pass recreates v1's instance and removes v2's.
            var served = ""
            for _ in 0..<60 where !served.contains("Hello from mini") {
                try await Task.sleep(for: .milliseconds(500))
                served = try await minid.getThroughProxy(host: "\(app).localhost").1
            }
            #expect(served.contains("Hello from mini"), "\(served)")
            let releases = try await minid.mini(["releases", app])
            #expect(!releases.stdout.contains("v2"), "\(releases)")
            // A container no instance wants goes once it is 30 s old (a worker may have just made it).
            var running = await containers(labelled: "mini.app=\(app)")
            for _ in 0..<120 where running.count != 1 {
                try await Task.sleep(for: .milliseconds(500))
                running = await containers(labelled: "mini.app=\(app)")
            }
            let listed = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"),
                ["ps", "-a", "--filter", "label=mini.app=\(app)", "--format", "{{.Names}} {{.Status}} {{.Labels}}"])
            #expect(running.count == 1, "\(listed.stdout)")
            // Job ids go on after those the folder saw: no forgotten job's build log is taken for a new one's.
            let queued = try await minid.mini(["deploy", first.path, "--app", app, "--async"])
            let next = try #require(Int(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(queued)")
            #expect(next > lastJob)
            #expect(try await minid.mini(["status", String(next), "--wait"]).status == 0)
        }
    }
}
