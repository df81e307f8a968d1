import Foundation
import Testing

@testable import Archive

/// The writer against the real Docker engine: the context it streams builds, and the image
/// holds exactly the files, modes and links that were sent.
@Suite("Docker build")
struct DockerBuildTests {
    static let socket = "/var/run/docker.sock"

    /// True when the engine answers; otherwise skips (or fails when MINI_REQUIRE_DOCKER=1).
    private func dockerIsRunning() throws -> Bool {
        let ping = try run(
            "curl", ["-sS", "--max-time", "5", "--unix-socket", Self.socket, "http://localhost/_ping"],
            check: false)
        if ping.status == 0, ping.output == "OK" { return true }
        if ProcessInfo.processInfo.environment["MINI_REQUIRE_DOCKER"] == "1" {
            throw TestFailure("the Docker engine does not answer at \(Self.socket): \(ping.output)")
        }
        print("skipping: the Docker engine does not answer at \(Self.socket)")
        return false
    }

    @Test func dockerBuildsTheStreamedContext() async throws {
        guard try dockerIsRunning() else { return }
        try await withTemporaryDirectory { root in
            let source = root + "/app"
            try TarStreamTests.makeContext(in: source, bigFileBytes: 1 << 20)
            try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: source + "/busybox")
            let checks = [
                "test -x /ctx/bin/run.sh", "test ! -e /ctx/secret.txt", "test -d /ctx/empty",
                "test \"$(/bin/busybox readlink /ctx/run)\" = bin/run.sh",
                "test \"$(/bin/busybox cat '/ctx/\(TarStreamTests.veryLongPath)')\" = 'very long'",
                "test \"$(/bin/busybox cat '/ctx/\(TarStreamTests.nfdName)')\" = nfd",
                "test \"$(/bin/busybox stat -c %s /ctx/big.bin)\" = \(1 << 20)",
                "test \"$(/bin/busybox stat -c %a /ctx/private.key)\" = 600",
            ].joined(separator: " && ")
            let dockerfile = """
                FROM scratch
                COPY busybox /bin/busybox
                COPY . /ctx
                RUN ["/bin/busybox", "sh", "-c", "\(checks.replacingOccurrences(of: "\"", with: "\\\""))"]

                """
            try makeFile(source + "/Dockerfile", Data(dockerfile.utf8))
            let archive = root + "/context.tar.gz"
            try await write(TarStream(try BuildContext(scanning: source)), to: archive)

            let tag = "mini-archive-test:\(UUID().uuidString.prefix(8).lowercased())"
            defer { _ = try? run("docker", ["rmi", "-f", tag], check: false) }
            let output = try run(
                "curl",
                [
                    "-sS", "--unix-socket", Self.socket, "-X", "POST", "-H",
                    "Content-Type: application/x-tar",
                    "--data-binary", "@" + archive, "http://localhost/v1.41/build?t=\(tag)&forcerm=1",
                ]
            ).output
            #expect(!output.contains("errorDetail"), "\(output)")
            #expect(output.contains("Successfully tagged \(tag)"), "\(output)")
        }
    }
}
