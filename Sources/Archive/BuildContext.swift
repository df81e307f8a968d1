#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A folder ready to be sent to Docker: every entry that survives `.dockerignore`, in walk
/// order (each directory's names sorted byte-wise, a directory before what it holds).
///
/// Scanning reads metadata only and checks that every file can be opened, so an unreadable
/// file fails the deploy before a byte is uploaded; contents are read later, while the
/// ``TarStream`` is consumed.
public struct BuildContext: Sendable {
    /// The context folder, as given (without a trailing `/`).
    public let directory: String
    /// The Dockerfile's path relative to ``directory``.
    public let dockerfile: String
    /// What goes into the archive.
    public let entries: [ContextEntry]
    /// What was left out although `.dockerignore` kept it (sockets, devices, FIFOs), one
    /// sentence each, for the CLI to show.
    public let notes: [String]

    /// True when ``dockerfile`` is a file (or a symlink) of the context.
    public var hasDockerfile: Bool {
        entries.contains { $0.path == dockerfile && $0.kind != .directory }
    }

    /// The bytes of file content the context holds.
    public var contentBytes: Int64 { entries.reduce(0) { $0 + $1.size } }

    /// The exact length of the uncompressed tar stream: headers, contents, padding, end marker.
    public var archiveBytes: Int64 {
        entries.reduce(Int64(TarFormat.endMarkerSize)) { total, entry in
            total + Int64(TarHeader(entry).encodedSize) + TarFormat.padded(entry.size)
        }
    }

    /// Walks `directory`, applying its `.dockerignore` the way Docker does. `.dockerignore`
    /// and the Dockerfile are always kept, as Docker keeps them.
    ///
    /// - Throws: ``ArchiveError`` when the folder, a directory in it or a kept file cannot be
    ///   read, or when `.dockerignore` holds a pattern Docker rejects.
    public init(scanning directory: String, dockerfile: String = "Dockerfile") throws {
        var root = directory
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        var status = try FileSystem.linkStatus(root)
        if FileSystem.fileType(status) == S_IFLNK {
            // `mini deploy ./current`, with `current` a link to the folder: followed, as Docker
            // follows it. Links inside the folder stay links.
            guard let resolved = realpath(root, nil) else { throw FileSystem.unreadable(root, errno: errno) }
            root = String(cString: resolved)
            free(resolved)
            status = try FileSystem.linkStatus(root)
        }
        guard FileSystem.fileType(status) == S_IFDIR else {
            throw ArchiveError(
                .unreadable, "\(root) is not a directory: give the folder that holds the Dockerfile")
        }
        let cleanDockerfile = CleanPath.clean(dockerfile)
        let rules = try DockerIgnore(contextDirectory: root).keeping(buildFiles: cleanDockerfile)
        var walker = Walker(root: root, rules: rules)
        try walker.walk(nil)
        self.directory = root
        self.dockerfile = cleanDockerfile
        entries = walker.entries
        notes = walker.notes
    }
}

/// The depth-first walk behind ``BuildContext/init(scanning:dockerfile:)``, following the
/// docker CLI's `archive.TarWithOptions`.
private struct Walker {
    let root: String
    let rules: DockerIgnore
    var entries: [ContextEntry] = []
    var notes: [String] = []
    /// The path each file with more than one name was first sent under, by device and inode.
    private var firstNames: [FileIdentity: String] = [:]

    init(root: String, rules: DockerIgnore) {
        self.root = root
        self.rules = rules
    }

    /// Walks the directory at `relativePath` (nil: the root).
    mutating func walk(_ relativePath: String?) throws {
        let names = try FileSystem.directoryNames(relativePath.map { root + "/" + $0 } ?? root)
        for name in names.sorted(by: { $0.text.utf8.lexicographicallyPrecedes($1.text.utf8) }) {
            let path = relativePath.map { $0 + "/" + name.text } ?? name.text
            guard name.isUTF8 else {
                // Sent names are UTF-8 (as tar's PAX names are); an excluded one is no matter,
                // unless a `!` pattern may bring back something below it.
                guard rules.excludes(path), !rules.mayReinclude(below: path) else {
                    throw ArchiveError(
                        .unsupportedEntry,
                        "the name of \(path) (shown with \u{FFFD} for its bytes) is not UTF-8; rename it, "
                            + "or exclude it in .dockerignore")
                }
                continue
            }
            try visit(path)
        }
    }

    private mutating func visit(_ path: String) throws {
        let absolutePath = root + "/" + path
        let status = try FileSystem.linkStatus(absolutePath)
        let type = FileSystem.fileType(status)
        if rules.excludes(path) {
            // Like Docker, an excluded directory is not sent itself, but is still walked when a
            // `!` pattern may bring back something inside it.
            if type == S_IFDIR, rules.mayReinclude(below: path) { try walk(path) }
            return
        }
        let kind: ContextEntry.Kind
        switch type {
        case S_IFREG:
            let identity = FileIdentity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
            if status.st_nlink > 1, let first = firstNames[identity] {
                kind = .hardLink(target: first)
            } else {
                _ = try ReadableFile(path: absolutePath)  // fail now rather than mid-upload
                if status.st_nlink > 1 { firstNames[identity] = path }
                kind = .file
            }
        case S_IFDIR:
            kind = .directory
        case S_IFLNK:
            kind = .symlink(target: try FileSystem.linkTarget(absolutePath))
        default:
            notes.append("skipped \(path): \(Self.describe(type)) cannot be sent in a build context")
            return
        }
        entries.append(
            ContextEntry(
                path: path,
                kind: kind,
                mode: UInt32(status.st_mode) & 0o7777,
                size: kind == .file ? Int64(status.st_size) : 0,
                modificationTime: FileSystem.modificationTime(status)
            )
        )
        if kind == .directory { try walk(path) }
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFSOCK: "a socket"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        default: "an entry of unknown type"
        }
    }
}

/// A file by device and inode: what its hard links share.
private struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
}
