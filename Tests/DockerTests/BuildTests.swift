import Docker
import Foundation
import Testing

/// Lines a build printed, collected from its `onOutput` callback.
actor CollectedLines {
    private(set) var all: [String] = []

    func append(_ lines: [String]) { all.append(contentsOf: lines) }
}

@Suite struct BuildTests {
    @Test func buildStreamsOutputAndReturnsTheImageID() async throws {
        try await withDocker { scope in
            let output = CollectedLines()
            let id = try await scope.docker.build(
                contextFile: try scope.context(
                    dockerfile: scope.dockerfile(
                        #"RUN ["/bin/busybox", "echo", "hello from RUN"]"#,
                        "ENV GREETING=hello",
                        "EXPOSE 8080 9090/udp 80"
                    )
                ),
                tag: scope.tag,
                memoryLimit: 256 << 20,
                labels: scope.labels.merging(["mini.app": "hello"]) { $1 },
                onOutput: { await output.append($0) }
            )
            #expect(id.hasPrefix("sha256:"))
            #expect(await output.all.first?.hasPrefix("Step 1/") == true)
            #expect(await output.all.contains("hello from RUN"))

            let image = try await scope.docker.inspectImage(scope.tag)
            #expect(image.id == id)
            #expect(image.tags == [scope.tag])
            #expect(image.exposedTCPPorts == [80, 8080])
            #expect(image.env.contains("GREETING=hello"))
            #expect(image.labels["mini.app"] == "hello")
        }
    }

    @Test func failedBuildThrowsTheEngineReasonAndLeavesNoContainersOrLayers() async throws {
        try await withDocker { scope in
            let output = CollectedLines()
            let context = try scope.context(
                dockerfile: scope.dockerfile(#"RUN ["/bin/busybox", "false"]"#))
            let error = try await #require(throws: DockerError.self) {
                try await scope.docker.build(
                    contextFile: context, tag: scope.tag, onOutput: { await output.append($0) })
            }
            #expect(error.code == .buildFailed)
            #expect(error.message.contains("returned a non-zero code: 1"))
            #expect(await output.all.last == error.message)
            #expect(try await scope.docker.listContainers(labels: scope.labels, all: true).isEmpty)
            // The layers of the steps before the failure (LABEL, COPY) go with the build.
            let printed = await output.all
            let layers = printed.compactMap { $0.firstMatch(of: /^ ---> ([0-9a-f]{12})$/)?.1 }
            #expect(layers.count == 2, "\(printed)")
            for layer in layers {
                let gone = try await #require(throws: DockerError.self) {
                    try await scope.docker.inspectImage(String(layer))
                }
                #expect(gone.code == .notFound, "layer \(layer) was left behind")
            }
        }
    }

    @Test func contextWithoutDockerfileIsAClearError() async throws {
        try await withDocker { scope in
            let context = try scope.context(dockerfile: nil)
            let error = try await #require(throws: DockerError.self) {
                try await scope.docker.build(contextFile: context, tag: scope.tag, onOutput: { _ in })
            }
            #expect(error.code == .buildFailed)
            #expect(error.status == 500)
            #expect(error.message.contains("Dockerfile"))
        }
    }

    @Test func cancellingABuildStopsIt() async throws {
        try await withDocker { scope in
            let context = try scope.context(
                dockerfile: scope.dockerfile(
                    #"RUN ["/bin/busybox", "sh", "-c", "echo sleeping; exec /bin/busybox sleep 30"]"#)
            )
            let running = AsyncStream.makeStream(of: Void.self)
            let build = Task {
                try await scope.docker.build(contextFile: context, tag: scope.tag) { lines in
                    if lines.contains("sleeping") { running.continuation.yield() }
                }
            }
            for await _ in running.stream { break }
            // The step's container (it carries the image's labels) exists until the build stops.
            #expect(try await scope.docker.listContainers(labels: scope.labels, all: true).count == 1)

            let cancelled = ContinuousClock.now
            build.cancel()
            await #expect(throws: CancellationError.self) { try await build.value }
            #expect(ContinuousClock.now - cancelled < .seconds(2))
            #expect(
                try await eventually(within: 10) {
                    try await scope.docker.listContainers(labels: scope.labels, all: true).isEmpty
                }
            )
        }
    }
}
