import Docker
import Foundation
import Logging
import Testing

@Suite struct EngineTests {
    @Test func pingNegotiatesTheAPIVersion() async throws {
        guard let docker = try await engine() else { return }
        #expect(try await docker.ping() == "1.41")
    }

    @Test func missingSocketIsDaemonUnreachable() async throws {
        let docker = DockerClient(socketPath: "/nonexistent/docker.sock", logger: Logger(label: "test"))
        let started = ContinuousClock.now
        let error = try await #require(throws: DockerError.self) { try await docker.ping() }
        #expect(ContinuousClock.now - started < .seconds(1), "a missing engine is reported at once")
        #expect(error.code == .daemonUnreachable)
        #expect(error.message.contains("/nonexistent/docker.sock (no such file or directory)"), "\(error.message)")
        #expect(error.message.contains("deploy/setup-host.sh"))
    }

    @Test func imagesCanBeTaggedListedAndRemoved() async throws {
        try await withDocker { scope in
            let id = try await scope.build(dockerfile: scope.dockerfile())
            let extraName = "mini-test/\(scope.id):v2"
            try await scope.docker.tagImage(id, as: extraName)

            let listed = try await scope.docker.listImages(reference: "mini-test/\(scope.id)")
            #expect(listed.map(\.id) == [id])
            #expect(Set(listed.first?.tags ?? []) == [scope.tag, extraName])

            try await scope.docker.removeImage(extraName)
            #expect(try await scope.docker.inspectImage(id).tags == [scope.tag])
            try await scope.docker.removeImage(scope.tag)
            let error = try await #require(throws: DockerError.self) {
                try await scope.docker.inspectImage(id)
            }
            #expect(error.code == .notFound)
            try await scope.docker.removeImage(scope.tag, ignoreMissing: true)
        }
    }

    @Test func containerEventsArrive() async throws {
        try await withDocker { scope in
            let image = try await scope.build(dockerfile: scope.dockerfile())
            // Replaying from `since` makes the stream see events from before it connected. The
            // build's own step containers carry the label too, so keep to the test's container.
            let name = "mini-test-\(scope.id)"
            let events = scope.docker.events(label: scope.labelFilter, since: Date() - 1)
            let collector = Task {
                var seen: [DockerEvent] = []
                for try await event in events where event.attributes["name"] == name {
                    seen.append(event)
                    if event.action == .destroy { break }
                }
                return seen
            }
            let container = try await scope.docker.createContainer(
                ContainerSpec(
                    name: name,
                    image: image,
                    labels: scope.labels,
                    command: ["/bin/busybox", "sh", "-c", "exit 3"]
                )
            )
            try await scope.docker.startContainer(container)
            #expect(
                try await eventually(within: 10) {
                    try await scope.docker.inspectContainer(container).state == .exited
                }
            )
            try await scope.docker.removeContainer(container)

            let seen = try await withTimeout(seconds: 10) { try await collector.value }
            #expect(seen.map(\.action) == [.start, .die, .destroy])
            #expect(
                seen.allSatisfy { $0.containerID == container && $0.attributes["mini.test"] == scope.id })
            #expect(seen.first { $0.action == .die }?.exitCode == 3)
        }
    }
}
