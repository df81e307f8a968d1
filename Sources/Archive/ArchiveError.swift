/// Why building, reading or validating a build context failed.
///
/// Every error carries a ``kind`` to branch on and a ``message`` written for people: it names
/// the file or entry at fault and, where it can, says what to do next.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    /// The category of an ``ArchiveError``.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Code: String, Hashable, Sendable {
            case invalidIgnorePattern = "invalid .dockerignore pattern"
            case unreadable = "unreadable file"
            case fileChanged = "file changed while archiving"
            case malformedArchive = "malformed archive"
            case truncatedArchive = "truncated archive"
            case unsafeEntryPath = "unsafe entry path"
            case unsupportedEntry = "unsupported entry"
            case contextTooLarge = "build context too large"
            case tooManyEntries = "too many entries"
            case compression = "compression failure"
        }

        private let code: Code

        private init(_ code: Code) { self.code = code }

        /// A `.dockerignore` line Docker would reject too (such as `!` alone or an unclosed `[`).
        public static let invalidIgnorePattern = Kind(.invalidIgnorePattern)
        /// A file or directory of the context cannot be read (permissions, vanished, I/O error).
        public static let unreadable = Kind(.unreadable)
        /// A file shrank between the scan of the context and the moment its bytes were sent.
        public static let fileChanged = Kind(.fileChanged)
        /// The bytes are not a valid tar (or tar.gz): bad checksum, bad number, garbage.
        public static let malformedArchive = Kind(.malformedArchive)
        /// The archive ends before its last entry or before its end-of-archive marker.
        public static let truncatedArchive = Kind(.truncatedArchive)
        /// An entry name is absolute, climbs out of the root with `..`, or contains NUL, or a
        /// hard link points outside the root.
        public static let unsafeEntryPath = Kind(.unsafeEntryPath)
        /// An entry type a build context cannot hold (device, FIFO, GNU sparse file ...).
        public static let unsupportedEntry = Kind(.unsupportedEntry)
        /// The entries' content adds up to more than ``ArchiveLimits/contentBytes``.
        public static let contextTooLarge = Kind(.contextTooLarge)
        /// The archive holds more entries than ``ArchiveLimits/entries``.
        public static let tooManyEntries = Kind(.tooManyEntries)
        /// zlib failed to compress or decompress (corrupt gzip data, out of memory).
        public static let compression = Kind(.compression)

        public var description: String { code.rawValue }
    }

    /// What went wrong, to branch on.
    public let kind: Kind
    /// What went wrong and what to do next, for people.
    public let message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
