import Logging
import MiniCore

extension DockerClient {
    /// What the engine has of an app: its containers (instances, release commands, one-off
    /// runs) and the images under its name (`mini/<app>`).
    public struct AppResources: Sendable {
        public var containers: [ContainerSummary]
        public var images: [ImageSummary]
    }

    /// Lists what the engine has of `app`.
    public func resources(ofApp app: String) async throws -> AppResources {
        AppResources(
            containers: try await listContainers(labels: [ContainerLabel.app: app], all: true)
                + listContainers(labels: [ContainerLabel.oneOff: app], all: true),
            images: try await listImages(reference: "mini/\(app)")
        )
    }

    /// Removes the containers of `resources` that `installation` may own, and the image tags
    /// `mini/<app>:*` (by tag, not by id: an app deployed from the same code has the same
    /// image under a tag of its own, and keeps it) that still name the image listed, except
    /// those of images a container of another installation runs (an app of the same name on
    /// the same engine). A tag whose image a container mini did not remove still runs stays,
    /// logged.
    /// - Parameters:
    ///   - sparing: containers to leave, such as those of an app made again under the name.
    ///   - keepingTags: tags to leave, such as those of its releases.
    /// - Returns: whether everything not spared went (no tag stayed for a container using it).
    /// - Throws: ``DockerError`` when the engine fails a removal: the rest may remain.
    @discardableResult
    public func remove(
        _ resources: AppResources, ofApp app: String, installation: Installation,
        sparing: (ContainerSummary) -> Bool = { _ in false }, keepingTags: Set<String> = [], logger: Logger
    ) async throws -> Bool {
        let foreignImages = Set(resources.containers.filter { !installation.mayOwn($0.labels) }.map(\.imageID))
        for container in resources.containers where installation.mayOwn(container.labels) && !sparing(container) {
            // A worker may be removing the same container right now (a drain).
            try await Self.toleratingConflict {
                try await removeContainer(container.id, force: true, ignoreMissing: true)
            }
        }
        var complete = true
        let tagPrefix = "mini/\(app):"
        for image in resources.images where !foreignImages.contains(image.id) {
            for tag in image.tags where tag.hasPrefix(tagPrefix) && !keepingTags.contains(tag) {
                // Gone or moved since the listing (the app made again and deployed): skipped.
                guard try await imageID(of: tag) == image.id else { continue }
                do {
                    try await Self.toleratingConflict {
                        try await removeImage(tag, force: false, ignoreMissing: true)
                    }
                } catch let error as DockerError where error.code == .conflict {
                    complete = false
                    logger.warning(
                        "image tag kept: the engine says its image is in use",
                        metadata: ["tag": "\(tag)", "error": "\(error.message)"])
                }
            }
        }
        return complete
    }

    /// The id of the image `tag` names, or nil when it names none.
    private func imageID(of tag: String) async throws -> String? {
        do {
            return try await inspectImage(tag).id
        } catch let error as DockerError where error.code == .notFound {
            return nil
        }
    }

    /// Runs `body`, trying again for up to 3 s while the engine answers "conflict" (a
    /// container already being removed, an image still used by one that is going away).
    public static func toleratingConflict(_ body: () async throws -> Void) async throws {
        for _ in 0..<15 {
            do {
                return try await body()
            } catch let error as DockerError where error.code == .conflict {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        try await body()
    }
}
