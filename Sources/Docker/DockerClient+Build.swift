import AsyncHTTPClient
import NIOCore

extension DockerClient {
    /// Builds an image from a build context saved as a (gzip'd) tar file, and returns its id
    /// (`sha256:...`).
    ///
    /// The file streams to the engine in 64 KiB pieces. Every line of output (steps, command
    /// output, statuses, errors) goes to `onOutput` as it arrives, the lines that arrived
    /// together in one call (a chatty step sends thousands at a time). Cancelling the calling
    /// task drops the connection, which makes the engine stop the build.
    /// - Parameters:
    ///   - contextFile: The path of the tar or tar.gz with a `Dockerfile` at its root.
    ///   - tag: The name to give the image, such as `mini/hello:v3`.
    ///   - dockerfile: Another Dockerfile of the context to build with, by its path in it.
    ///   - memoryLimit: The most memory, in bytes, each `RUN` step may use.
    ///   - labels: Labels to set on the image.
    /// - Throws: ``DockerError`` with code ``DockerError/Code/buildFailed`` and the engine's
    ///   reason when the build fails, including when the engine refuses the context (such as
    ///   one without a `Dockerfile`). The layers the steps before the failure committed are
    ///   removed (also when the build is cancelled): nameless, nothing else would.
    public func build(
        contextFile: String,
        tag: String,
        dockerfile: String? = nil,
        memoryLimit: Int64? = nil,
        labels: [String: String] = [:],
        onOutput: @Sendable ([String]) async throws -> Void
    ) async throws -> String {
        let context = try FileChunks(path: contextFile)
        var query: [QueryItem] = [("t", tag), ("forcerm", "1"), ("rm", "1")]
        if let dockerfile {
            query.append(("dockerfile", dockerfile))
        }
        if let memoryLimit {
            query.append(("memory", String(memoryLimit)))
        }
        if !labels.isEmpty {
            query.append(("labels", try Self.jsonQueryValue(labels)))
        }
        let response = try await send(
            .POST,
            "/build",
            query: query,
            body: .stream(context, length: .unknown),
            contentType: "application/x-tar",
            deadline: .distantFuture
        )
        guard response.status == .ok else {
            let refusal = try await Self.failure(of: response)
            throw DockerError.buildFailed(refusal.message, status: refusal.status)
        }

        var events = DecodingBodyIterator(body: response.body, decoder: BuildOutputDecoder())
        var failure: String?
        var imageID: String?
        var lines: [String] = []
        var layers: [String] = []
        do {
            while let event = try await events.next() {
                switch event {
                case .output(let line): lines.append(line)
                case .failed(let message): failure = message
                case .built(let id): imageID = id
                case .committedLayer(let id): layers.append(id)
                }
                if !lines.isEmpty, !events.hasPending {
                    try await onOutput(lines)
                    lines.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            await removeLayers(layers)
            throw error
        }
        if let failure {
            await removeLayers(layers)
            throw DockerError.buildFailed(failure)
        }
        if let imageID {
            return imageID
        }
        return try await inspectImage(tag).id
    }

    /// Removes the layers of a build that did not end in an image, newest first, from a task
    /// of its own (a cancelled build cleans up too). A layer another image or container
    /// uses stays: the engine refuses to remove it.
    private func removeLayers(_ layers: [String]) async {
        await Task { [self] in
            for layer in layers.reversed() {
                try? await removeImage(layer, force: false, ignoreMissing: true)
            }
        }.value
    }
}
