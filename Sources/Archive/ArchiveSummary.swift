/// What a validated archive holds.
public struct ArchiveSummary: Sendable, Equatable {
    /// Entries (files, directories, links), not counting PAX or GNU extension headers.
    public var entryCount: Int
    /// Bytes of regular-file content.
    public var contentBytes: Int64
    /// Length of the uncompressed tar stream up to its end marker.
    public var archiveBytes: Int64
    /// True when the Dockerfile looked for is an entry at the root.
    public var hasDockerfile: Bool
    /// True when the archive came gzip-compressed.
    public var isCompressed: Bool
    /// Things worth a look that do not make the archive unsafe, such as a symlink pointing
    /// outside the root (Docker confines those itself). At most a few dozen.
    public var notes: [String]

    public init(
        entryCount: Int, contentBytes: Int64, archiveBytes: Int64, hasDockerfile: Bool,
        isCompressed: Bool,
        notes: [String]
    ) {
        self.entryCount = entryCount
        self.contentBytes = contentBytes
        self.archiveBytes = archiveBytes
        self.hasDockerfile = hasDockerfile
        self.isCompressed = isCompressed
        self.notes = notes
    }
}
