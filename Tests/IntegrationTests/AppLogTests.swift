import Foundation
import Testing

/// `GET /v1/apps/{app}/logs?follow=1` against real containers.
@Suite("app logs, end to end", .serialized)
struct AppLogTests {
    @Test("a followed app log goes on across an engine restart of the instance's container")
    func followAcrossRestart() async throws {
        try await withMinid(app: "l") { minid, app, work in
            let ticking = try copyExample("hello", into: work, as: app)
            let counter = "i=0; while :; do echo tick $i; i=$((i+1)); /bin/busybox sleep 1; done"
            try """
            FROM scratch
            COPY busybox /bin/busybox
            COPY www /www
            CMD ["/bin/busybox", "sh", "-c", "\(counter) & exec /bin/busybox httpd -f -p 8080 -h /www"]
            """.write(to: ticking.appendingPathComponent("Dockerfile"), atomically: false, encoding: .utf8)
            let deploy = try await minid.mini(["deploy", ticking.path, "--app", app])
            try #require(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
            // Past "tick 0" of the first run, so that only a restarted run prints it again.
            try await Task.sleep(for: .seconds(2))

            let (url, token) = ("\(minid.apiURL)/v1/apps/\(app)/logs?follow=1&tail=0", minid.token)
            let follower = Task {
                try await run(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    ["-sN", "--max-time", "12", "-H", "Authorization: Bearer \(token)", url]
                )
            }
            try await Task.sleep(for: .seconds(3))
            let restart = try await run(
                URL(fileURLWithPath: "/usr/bin/docker"), ["restart", "-t", "1", "mini-\(app)-v1-1"])
            #expect(restart.status == 0, "\(restart.stderr)")
            let followed = try await follower.value.stdout
            let ticks = followed.split(separator: "\n").filter { $0.hasPrefix("[mini-\(app)-v1-1] tick ") }
            #expect(ticks.count >= 4, "the stream before the restart:\n\(followed)")
            #expect(
                ticks.contains("[mini-\(app)-v1-1] tick 0"), "the restarted container was not followed:\n\(followed)")
            #expect(
                ticks.contains("[mini-\(app)-v1-1] tick 1"), "the restarted container was not followed:\n\(followed)")

            // `tail` is for the instances running when the follow starts: one that comes later
            // (a restart's) is shown from its first line.
            let nextFollower = Task {
                try await run(
                    URL(fileURLWithPath: "/usr/bin/curl"),
                    ["-sN", "--max-time", "15", "-H", "Authorization: Bearer \(token)", url]
                )
            }
            try await Task.sleep(for: .seconds(1))
            let restarted = try await minid.mini(["restart", app])
            #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")
            let next = try await nextFollower.value.stdout
            #expect(next.contains("[mini-\(app)-v2-1] tick 0\n"), "the new instance's first line:\n\(next)")
        }
    }
}
