import Foundation
import Testing

/// `mini maintenance` end to end: the real `minid serve`, engine and proxy.
@Suite("maintenance mode, end to end", .serialized)
struct MaintenanceTests {
    @Test("maintenance on answers through the proxy with the maintenance page while a deploy goes on; off serves again")
    func maintenanceAroundADeploy() async throws {
        try await withMinid(app: "upkeep", workers: 1) { minid, app, work in
            let folder = try copyExample("hello", into: work, as: app)
            #expect(try await minid.mini(["deploy", folder.path]).status == 0)
            let host = "\(app).localhost"

            let on = try await minid.mini(["maintenance", "on", app])
            #expect(on.status == 0 && on.stdout.contains("maintenance mode is on"), "\(on)")
            try await Self.waitForStatus(503, of: minid, host: host)
            let (_, page) = try await minid.getThroughProxy(host: host)
            #expect(page == "down for maintenance: back soon\n")
            let shown = try await minid.mini(["maintenance", app, "--json"])
            #expect(
                shown.stdout.contains(#""enabled":true"#) || shown.stdout.contains(#""enabled" : true"#), "\(shown)")
            #expect(try await minid.mini(["apps", "info", app]).stdout.contains("maintenance on"))

            // Deploys go on meanwhile: their health checks reach the instances directly.
            try "<h1>After maintenance</h1>\n".write(
                to: folder.appendingPathComponent("www/index.html"), atomically: false, encoding: .utf8)
            let deploy = try await minid.mini(["deploy", folder.path])
            #expect(deploy.status == 0, "\(deploy)")
            #expect(deploy.stderr.contains("is in maintenance mode"), "\(deploy)")
            #expect(try await minid.getThroughProxy(host: host).0 == 503)
            // Who made each release and queued each job: the token's name.
            let releases = try await minid.mini(["releases", app])
            #expect(releases.stdout.contains(" admin "), "\(releases)")
            let jobs = try await minid.mini(["jobs", "--app", app, "--json"])
            #expect(jobs.stdout.contains(#""requestedBy":"admin""#), "\(jobs)")

            let off = try await minid.mini(["maintenance", "off", app])
            #expect(off.status == 0 && off.stdout.contains("maintenance mode is off"), "\(off)")
            try await Self.waitForStatus(200, of: minid, host: host)
            #expect(try await minid.getThroughProxy(host: host).1.contains("After maintenance"))
        }
    }

    /// Waits up to 5 s for the proxy to answer `status` for `host` (routes follow the store
    /// within 100 ms).
    private static func waitForStatus(_ status: Int, of minid: MinidProcess, host: String) async throws {
        for _ in 0..<50 where try await minid.getThroughProxy(host: host).0 != status {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await minid.getThroughProxy(host: host).0 == status)
    }
}
