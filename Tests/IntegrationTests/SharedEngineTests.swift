import Foundation
import Testing

/// What shares the Docker engine with an app: other apps built from the same code (the same
/// image), and other mini installations (another data folder).
@Suite("a shared Docker engine", .serialized)
struct SharedEngineTests {
    /// The id of a running container, or "" when there is none of that name.
    static func runningID(_ name: String) async throws -> String {
        let inspected = try await run(
            URL(fileURLWithPath: "/usr/bin/docker"), ["inspect", "-f", "{{.State.Running}} {{.Id}}", name])
        let fields = inspected.stdout.split(separator: " ")
        return fields.first == "true" ? String(fields.last ?? "").trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    @Test("labels of mini's own in an app's Dockerfile do not pass its containers for another kind")
    func imageLabelsSpeakForNothing() async throws {
        try await withMinid(app: "lab") { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            let dockerfile = folder.appendingPathComponent("Dockerfile")
            // An instance labelled as a one-off would be removed as a finished run, a one-off
            // labelled as an instance as one no release wants.
            let labels = "\nLABEL mini.run=\(app) mini.run.owner=x mini.app=ghost mini.instance=9 mini.release=99\n"
            try (String(contentsOf: dockerfile, encoding: .utf8) + labels).write(
                to: dockerfile, atomically: false, encoding: .utf8)
            let deployed = try await minid.mini(["deploy", folder.path, "--app", app])
            try #require(deployed.status == 0, "\(deployed.stdout)\(deployed.stderr)")
            let instance = try await Self.runningID("mini-\(app)-v1-1")
            #expect(!instance.isEmpty)
            // Several reconciler passes (every 2 s) while a one-off runs through them.
            let oneOff = try await minid.mini(["run", app, "/bin/busybox", "sh", "-c", "sleep 7; echo finished"])
            #expect(oneOff.status == 0 && oneOff.stdout == "finished\n", "\(oneOff)")
            #expect(try await Self.runningID("mini-\(app)-v1-1") == instance, "the instance was removed or replaced")
            #expect(try await minid.getThroughProxy(host: "\(app).localhost").0 == 200)
        }
    }

    @Test("destroying an app leaves another app built from the same code serving and restartable")
    func destroyKeepsSharedImage() async throws {
        try await withMinid(app: "twin") { minid, app, work in
            let twin = "\(app)-b"
            let folder = try copyExample("hello", into: work, as: app)
            #expect(try await minid.mini(["deploy", folder.path, "--app", app]).status == 0)
            #expect(try await minid.mini(["deploy", folder.path, "--app", twin]).status == 0)
            let destroyed = try await minid.mini(["apps", "destroy", app, "--confirm", app])
            #expect(destroyed.status == 0, "\(destroyed.stdout)\(destroyed.stderr)")
            #expect(try await minid.getThroughProxy(host: "\(twin).localhost").0 == 200)
            let restarted = try await minid.mini(["restart", twin])
            #expect(restarted.status == 0, "the twin lost its image: \(restarted.stdout)\(restarted.stderr)")
            let images = try await run(URL(fileURLWithPath: "/usr/bin/docker"), ["images", "-q", "mini/\(app)"])
            #expect(images.stdout.isEmpty, "the destroyed app's tags stayed")
            // Destroyed through minid, whose reconciler would bring back a removed instance
            // while its rows were still there: none comes back.
            #expect(try await minid.mini(["apps", "destroy", twin, "--confirm", twin]).status == 0)
            try await Task.sleep(for: .seconds(3))
            let left = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"), ["ps", "-aq", "--filter", "label=mini.app=\(twin)"])
            #expect(left.status == 0 && left.stdout.isEmpty, "a container of the destroyed app came back: \(left)")
        }
    }

    @Test("a second mini on the engine leaves the first one's containers alone and refuses an app name it runs")
    func secondInstallation() async throws {
        try await withMinid(app: "first") { first, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            #expect(try await first.mini(["deploy", folder.path, "--app", app]).status == 0)
            let instance = "mini-\(app)-v1-1"
            let id = try await Self.runningID(instance)
            try #require(!id.isEmpty)

            let second = try MinidProcess(workers: 1)
            try await second.waitUntilReady()
            // The reconciler passes every 2 s and removes unwanted containers 30 s old.
            try await Task.sleep(for: .seconds(33))
            #expect(try await Self.runningID(instance) == id, "the second mini removed the first one's instance")
            // Refused when asked, before the upload: the app is not made.
            for arguments in [["deploy", folder.path, "--app", app], ["apps", "create", app]] {
                let clash = try await second.mini(arguments)
                #expect(clash.status == 1, "\(arguments): \(clash)")
                #expect(
                    clash.stderr.contains("another mini on this Docker engine runs an app named \(app)"),
                    "\(arguments): \(clash)")
            }
            #expect(try await !second.mini(["apps"]).stdout.contains(app), "a refused deploy made the app")
            let tag = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"), ["image", "inspect", "-f", "{{.Id}}", "mini/\(app):v1"])
            #expect(tag.status == 0, "the first mini's image lost its tag: \(tag.stderr)")
            #expect(try await Self.runningID(instance) == id, "the second mini replaced the first one's instance")
            #expect(try await first.getThroughProxy(host: "\(app).localhost").0 == 200)
            #expect(!second.log().contains("removing a container"), "\(second.log())")
            await second.stop()
        }
    }
}
