/// How much a build context may unpack to, checked as its headers stream in: an archive
/// that would go past a limit is refused at the first header that does, before its data
/// is read, so a gzip bomb or a flood of empty entries never reaches the Docker engine.
public struct ArchiveLimits: Sendable {
    /// The most bytes of regular-file content the entries may hold in all.
    public var contentBytes: Int64
    /// The most entries (files, directories, links) the archive may hold.
    public var entries: Int

    public init(contentBytes: Int64, entries: Int) {
        self.contentBytes = contentBytes
        self.entries = entries
    }

    /// No limit beyond what the tar format holds.
    public static let unlimited = ArchiveLimits(contentBytes: .max, entries: .max)
}
