/// One entry of a build context, as it goes into the tar stream.
public struct ContextEntry: Sendable, Hashable {
    /// What the entry is. Symlinks are kept as symlinks, never followed.
    public enum Kind: Sendable, Hashable {
        case file
        case directory
        case symlink(target: String)
        /// A further name of a file sent earlier (`target`, its path in the context), as
        /// Docker sends hard links: the content goes once.
        case hardLink(target: String)
    }

    /// The path relative to the context root, `/`-separated, without a trailing `/`.
    public var path: String
    public var kind: Kind
    /// The permission bits, `0o7777` at most (set-uid, set-gid and sticky included).
    public var mode: UInt32
    /// The size of a file's content in bytes; 0 for directories and links.
    public var size: Int64
    /// The modification time, in whole seconds since 1970.
    public var modificationTime: Int64

    public init(path: String, kind: Kind, mode: UInt32, size: Int64, modificationTime: Int64) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.modificationTime = modificationTime
    }
}
