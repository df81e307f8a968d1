import Docker
import Foundation
import Testing

@Suite struct ContainerTests {
    /// An image serving `/www` with busybox httpd on port 8080, after a line on each output.
    private func webImage(_ scope: TestScope) async throws -> String {
        try await scope.build(
            dockerfile: scope.dockerfile(
                "COPY www /www",
                #"CMD ["/bin/busybox", "sh", "-c", "echo to stdout; echo to stderr >&2; exec /bin/busybox httpd -f -p 8080 -h /www"]"#
            ),
            files: ["www/index.html": "hello from \(scope.id)\n"]
        )
    }

    @Test func containerServesOnItsLoopbackPortAndLogsBothStreams() async throws {
        try await withDocker { scope in
            let image = try await webImage(scope)
            let hostPort = try await PortAllocator.freeLoopbackPort()
            let id = try await scope.docker.createContainer(
                ContainerSpec(
                    name: "mini-test-\(scope.id)",
                    image: image,
                    env: ["PORT=8080"],
                    labels: scope.labels,
                    publishedPort: .init(containerPort: 8080, hostPort: hostPort),
                    memoryLimit: 64 << 20,
                    nanoCPUs: 500_000_000,
                    restartPolicy: .unlessStopped,
                    stopTimeout: 2
                )
            )
            try await scope.docker.startContainer(id)
            try await scope.docker.startContainer(id)

            // Ready means an HTTP answer: docker-proxy accepts connections before httpd listens.
            var body = ""
            let answered = try await eventually(within: 10) {
                body =
                    (try? run("/usr/bin/curl", "-fsS", "--max-time", "2", "http://127.0.0.1:\(hostPort)/"))
                    ?? ""
                return !body.isEmpty
            }
            #expect(answered)
            #expect(body == "hello from \(scope.id)\n")

            let info = try await scope.docker.inspectContainer(id)
            #expect(info.id == id)
            #expect(info.name == "mini-test-\(scope.id)")
            #expect(info.imageID == image)
            #expect(info.state == .running)
            #expect(info.hostPort == hostPort)
            #expect(info.labels == scope.labels)
            #expect(try #require(info.startedAt).timeIntervalSinceNow > -60)
            #expect(info.finishedAt == nil)

            let listed = try await scope.docker.listContainers(labels: scope.labels)
            #expect(listed.map(\.id) == [id])
            #expect(listed.first?.hostPort == hostPort)
            #expect(listed.first?.state == .running)

            let logs = try await collect(scope.docker.containerLogs(id))
            #expect(logs.contains(LogLine(stream: .stdout, text: "to stdout")))
            #expect(logs.contains(LogLine(stream: .stderr, text: "to stderr")))
            let tail = try await collect(scope.docker.containerLogs(id, tail: 1))
            #expect(tail.count == 1)

            let followed = try await withTimeout(seconds: 10) {
                var lines: [LogLine] = []
                for try await line in scope.docker.containerLogs(id, follow: true) {
                    lines.append(line)
                    if lines.count == 2 { break }
                }
                return lines
            }
            #expect(Set(followed.map(\.stream)) == [.stdout, .stderr])
            try await expectHeldStreamsLeaveRoomForCalls(scope.docker, container: id)

            try await scope.docker.stopContainer(id, timeout: 1)
            try await scope.docker.stopContainer(id, timeout: 1)
            let stopped = try await scope.docker.inspectContainer(id)
            #expect(stopped.state == .exited)
            #expect(stopped.finishedAt != nil)
            #expect(try await scope.docker.listContainers(labels: scope.labels).isEmpty)
            #expect(try await scope.docker.listContainers(labels: scope.labels, all: true).count == 1)

            try await scope.docker.removeContainer(id)
            let error = try await #require(throws: DockerError.self) {
                try await scope.docker.removeContainer(id)
            }
            #expect(error.code == .notFound)
            try await scope.docker.removeContainer(id, ignoreMissing: true)
        }
    }

    @Test func takenNameIsAConflict() async throws {
        try await withDocker { scope in
            let spec = ContainerSpec(
                name: "mini-test-\(scope.id)", image: try await webImage(scope), labels: scope.labels)
            _ = try await scope.docker.createContainer(spec)
            let error = try await #require(throws: DockerError.self) {
                try await scope.docker.createContainer(spec)
            }
            #expect(error.code == .conflict)
            #expect(error.message.contains("already in use"))
        }
    }

    @Test func missingImageOrContainerIsNotFound() async throws {
        try await withDocker { scope in
            let createError = try await #require(throws: DockerError.self) {
                try await scope.docker.createContainer(
                    ContainerSpec(name: "mini-test-\(scope.id)", image: "mini-test/\(scope.id):missing")
                )
            }
            #expect(createError.code == .notFound)
            let logsError = try await #require(throws: DockerError.self) {
                try await collect(scope.docker.containerLogs("mini-test-\(scope.id)"))
            }
            #expect(logsError.code == .notFound)
            #expect(logsError.message.contains("mini-test-\(scope.id)"))
        }
    }

    /// Following logs holds a connection for as long as the reader wants; a dozen of them at
    /// once must not keep other calls waiting for a connection.
    private func expectHeldStreamsLeaveRoomForCalls(_ docker: DockerClient, container: String) async throws {
        let streams = 12
        let connected = AsyncStream.makeStream(of: Void.self)
        let held = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<streams {
                    group.addTask {
                        for try await _ in docker.containerLogs(container, follow: true) {
                            connected.continuation.yield()
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        defer { held.cancel() }
        let state = try await withTimeout(seconds: 10) {
            var lines = 0
            for await _ in connected.stream {
                lines += 1
                if lines == streams * 2 { break }  // both past lines on every stream
            }
            return try await docker.inspectContainer(container).state
        }
        #expect(state == .running)
    }
}
