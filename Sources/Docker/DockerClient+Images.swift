import NIOHTTP1

extension DockerClient {
    /// What the engine knows about an image, by id or name.
    /// - Throws: ``DockerError`` with code ``DockerError/Code/notFound`` for an unknown image.
    public func inspectImage(_ reference: String) async throws -> ImageInfo {
        try await call(.GET, "/images/\(Self.pathSegment(reference))/json")
    }

    /// Gives the image `source` the extra name `target` (`repository[:tag]`, tag `latest` when
    /// left out).
    public func tagImage(_ source: String, as target: String) async throws {
        var repository = target
        var tag = "latest"
        if let colon = target.lastIndex(of: ":"), !target[colon...].contains("/") {
            repository = String(target[..<colon])
            tag = String(target[target.index(after: colon)...])
        }
        try await perform(
            .POST,
            "/images/\(Self.pathSegment(source))/tag",
            query: [("repo", repository), ("tag", tag)]
        )
    }

    /// Removes an image name, and the image when no other name is left.
    /// - Parameters:
    ///   - force: Remove even when containers use it, and all its names when given an id.
    ///   - ignoreMissing: Succeed when there is no such image.
    public func removeImage(_ reference: String, force: Bool = false, ignoreMissing: Bool = false)
        async throws
    {
        try await perform(
            .DELETE,
            "/images/\(Self.pathSegment(reference))",
            query: [("force", force ? "1" : "0")],
            accepting: ignoreMissing ? [.notFound] : []
        )
    }

    /// The images whose name matches `reference` (a `docker images` pattern such as
    /// `mini/hello` or `mini/*:v3`), if given, and that carry all `labels`; with `all`, also
    /// the untagged ones other images are built on (`docker images -a`).
    public func listImages(reference: String? = nil, labels: [String: String] = [:], all: Bool = false)
        async throws -> [ImageSummary]
    {
        var filters = Self.labelFilters(labels)
        if let reference {
            filters["reference"] = [reference]
        }
        var query: [QueryItem] = [("filters", try Self.jsonQueryValue(filters))]
        if all { query.append(("all", "1")) }
        return try await call(.GET, "/images/json", query: query)
    }

    /// The engine's `label` filter for containers or images carrying all `labels`.
    static func labelFilters(_ labels: [String: String]) -> [String: [String]] {
        labels.isEmpty ? [:] : ["label": labels.map { "\($0.key)=\($0.value)" }.sorted()]
    }
}
