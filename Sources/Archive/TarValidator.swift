import NIOCore

/// A streaming tar parser that checks every header of an uncompressed tar stream (ustar,
/// PAX `x`/`g` and GNU `L`/`K` long names) and rejects what is unsafe to hand to Docker. It
/// reads names as dockerd's reader (Go's archive/tar) does, so that the names it checks are
/// the ones Docker unpacks.
///
/// Feed it bytes in pieces of any size with ``consume(_:)``; it keeps one header block (or one
/// extension record of at most 1 MiB) in memory and skips file contents without copying them.
/// Rejected, with an ``ArchiveError``:
/// - a header whose checksum is wrong, a number field that is not a number, a bad PAX record,
///   a GNU header whose access or change time is not a number (Go would read it as a name);
/// - an entry name that is absolute, that climbs out of the root with `..` once cleaned
///   (`a/../../b`), or that holds a NUL byte;
/// - devices, FIFOs and entry types Docker cannot build from (GNU sparse files ...);
/// - an archive that stops inside an entry or before its end-of-archive marker (one or two
///   zero blocks; what follows the marker, such as GNU tar's record padding, is ignored up
///   to ``maxTrailingBytes``);
/// - an archive that goes past its ``ArchiveLimits``, at the first header that does.
///
/// Symlinks whose target lies outside the root are kept, with a note: the Docker engine
/// confines them when it unpacks the context. Hard links to outside the root are refused
/// (the engine refuses to unpack them).
public struct TarValidator: Sendable {
    /// The largest PAX record set or GNU long name accepted, as Go's archive/tar.
    static let maxExtensionSize = 1 << 20
    private static let maxNotes = 20

    private enum State: Sendable {
        /// Collecting the next 512-byte header in `pending`.
        case header
        /// Collecting the padded data of an extension header in `pending`.
        case extensionData(Extension, size: Int)
        /// Skipping an entry's content and padding.
        case skipping(Int64)
        /// The end-of-archive marker was read.
        case ended
    }

    private enum Extension: Sendable {
        case pax, paxGlobal, gnuLongName, gnuLongLink
    }

    /// What extension headers say about the next entry, read as Go's archive/tar (dockerd's
    /// reader) reads it: a GNU long name or link wins over a PAX one, of several PAX headers
    /// only the last counts, and a PAX global header ends them all (Go returns it as an entry
    /// of its own, which they describe; the entry after it is read afresh). An empty value is
    /// none: the entry's own header field stands.
    private struct Overrides: Sendable {
        var gnuPath: [UInt8]?
        var gnuLinkPath: [UInt8]?
        var pax = PAXOverrides()
    }

    private struct PAXOverrides: Sendable {
        var path: [UInt8]?
        var linkPath: [UInt8]?
        var size: Int64?
    }

    /// Entries larger than this are refused (their size would overflow the arithmetic that
    /// skips them; no upload gets near it).
    static let maxEntrySize: Int64 = 1 << 40

    private let dockerfile: [UInt8]
    private let limits: ArchiveLimits
    private var state = State.header
    private var pending: [UInt8] = []
    private var overrides = Overrides()
    private var sawZeroBlock = false
    /// Bytes of the tar stream consumed so far.
    private var offset: Int64 = 0
    private var summary = ArchiveSummary(
        entryCount: 0, contentBytes: 0, archiveBytes: 0, hasDockerfile: false, isCompressed: false,
        notes: []
    )
    private var omittedNotes = 0
    /// Bytes read after the end-of-archive marker.
    private var trailingBytes: Int64 = 0
    /// The most bytes accepted after the end-of-archive marker: tar pads its output to a
    /// record (10 KiB for GNU tar), but the engine's unpacker reads (and inflates) whatever
    /// follows, so more is refused.
    static let maxTrailingBytes: Int64 = 1 << 20
    /// Bytes counted toward ``ArchiveLimits/contentBytes``: see ``count(_:of:)``.
    private var countedBytes: Int64 = 0
    /// The hashes of the paths of the entries a hard link may name (files and symlinks) so
    /// far: 8 bytes an entry however long its path; a collision could only let a link
    /// through to the engine, which then refuses it.
    private var linkableEntries = Set<Int>()

    /// - Parameters:
    ///   - dockerfile: the Dockerfile path to look for, relative to the root.
    ///   - limits: how much the archive may unpack to.
    public init(dockerfile: String = "Dockerfile", limits: ArchiveLimits = .unlimited) {
        self.dockerfile = CleanPath.clean(Array(dockerfile.utf8))
        self.limits = limits
    }

    /// Parses the readable bytes of `input`, consuming all of them.
    /// - Throws: ``ArchiveError`` at the first malformed or unsafe header.
    public mutating func consume(_ input: inout ByteBuffer) throws {
        while input.readableBytes > 0 {
            switch state {
            case .ended:
                trailingBytes += Int64(input.readableBytes)
                input.moveReaderIndex(forwardBy: input.readableBytes)
                guard trailingBytes <= Self.maxTrailingBytes else {
                    throw malformed(
                        "more than \(Self.maxTrailingBytes >> 20) MiB follow the end-of-archive marker, which the "
                            + "Docker engine would read all the same; make the archive with tar, without data after it")
                }
            case .skipping(let remaining):
                let count = Int(min(remaining, Int64(input.readableBytes)))
                input.moveReaderIndex(forwardBy: count)
                offset += Int64(count)
                state = remaining > Int64(count) ? .skipping(remaining - Int64(count)) : .header
            case .header:
                if gather(TarFormat.blockSize, from: &input) {
                    let block = pending
                    pending.removeAll(keepingCapacity: true)
                    try readHeader(block)
                }
            case .extensionData(let kind, let size):
                if gather(Int(TarFormat.padded(Int64(size))), from: &input) {
                    let data = pending.prefix(size)
                    pending.removeAll(keepingCapacity: true)
                    try apply(kind, data)
                    state = .header
                }
            }
        }
    }

    /// Ends the stream.
    /// - Returns: the summary of a complete, valid archive.
    /// - Throws: ``ArchiveError`` (``ArchiveError/Kind/truncatedArchive``) when the stream
    ///   stopped before the end-of-archive marker.
    public func finish() throws -> ArchiveSummary {
        switch state {
        case .ended:
            break
        case .header where sawZeroBlock && pending.isEmpty:
            break  // one zero block then the end of the data: Go's archive/tar accepts it too
        case .header where offset < 512:
            // Not even one header: not a tar archive at all, or nothing was sent.
            let size = offset == 0 ? "empty" : "\(offset) bytes, less than one tar header"
            throw ArchiveError(.truncatedArchive, "the archive is \(size): send a (gzip'd) tar of the app's folder")
        default:
            throw ArchiveError(
                .truncatedArchive,
                "the archive stops after \(offset) bytes, before its end-of-archive marker: "
                    + "the upload was cut short, send it again")
        }
        var summary = self.summary
        summary.archiveBytes = offset - Int64(pending.count)
        if omittedNotes > 0 { summary.notes.append("... and \(omittedNotes) more notes") }
        return summary
    }

    /// Moves bytes from `input` to `pending` until it holds `count`; true once it does.
    private mutating func gather(_ count: Int, from input: inout ByteBuffer) -> Bool {
        let wanted = min(count - pending.count, input.readableBytes)
        pending.append(contentsOf: input.readBytes(length: wanted) ?? [])
        offset += Int64(wanted)
        return pending.count == count
    }

    private mutating func readHeader(_ block: [UInt8]) throws {
        if block.allSatisfy({ $0 == 0 }) {
            if sawZeroBlock { state = .ended }
            sawZeroBlock = true
            return
        }
        guard !sawZeroBlock else {
            throw malformed("a header follows a zero block")
        }
        try verifyChecksum(block)
        let typeFlag = block[TarFormat.typeFlag]
        let size = try number(block[TarFormat.size], field: "size")
        switch typeFlag {
        case TarFormat.TypeFlag.paxExtended: try startExtension(.pax, size: size)
        case TarFormat.TypeFlag.paxGlobal: try startExtension(.paxGlobal, size: size)
        case TarFormat.TypeFlag.gnuLongName: try startExtension(.gnuLongName, size: size)
        case TarFormat.TypeFlag.gnuLongLink: try startExtension(.gnuLongLink, size: size)
        default: try readEntry(block, typeFlag: typeFlag, size: overrides.pax.size ?? size)
        }
    }

    private mutating func startExtension(_ kind: Extension, size: Int64) throws {
        guard size <= Self.maxExtensionSize else {
            throw malformed(
                "an extension header announces \(size) bytes, more than the \(Self.maxExtensionSize) allowed"
            )
        }
        try count(size, of: "an extension header (\(size) bytes)")
        if size == 0 {
            try apply(kind, [])
        } else {
            state = .extensionData(kind, size: Int(size))
        }
    }

    /// Counts `size` bytes read toward the content limit: file contents, and extension
    /// header data, which unpacks to nothing but is read (and inflated) all the same, so a
    /// chain of long headers costs no more than files would.
    private mutating func count(_ size: Int64, of what: @autoclosure () -> String) throws {
        guard size <= limits.contentBytes - countedBytes else {
            throw ArchiveError(
                .contextTooLarge,
                "the build context unpacks to more than \(limits.contentBytes) bytes, its limit: \(what()) goes past it"
            )
        }
        countedBytes += size
    }

    private mutating func apply(_ kind: Extension, _ data: ArraySlice<UInt8>) throws {
        switch kind {
        case .gnuLongName:
            overrides.gnuPath = Self.nonEmpty(Self.string(data))
        case .gnuLongLink:
            overrides.gnuLinkPath = Self.nonEmpty(Self.string(data))
        case .paxGlobal:
            _ = try paxRecords(data)  // checked, then ignored, as Docker ignores them
            overrides = Overrides()
        case .pax:
            overrides.pax = PAXOverrides()
            for (key, value) in try paxRecords(data) {
                switch key {
                case "path": overrides.pax.path = Self.nonEmpty(value)
                case "linkpath": overrides.pax.linkPath = Self.nonEmpty(value)
                case "size" where value.isEmpty: overrides.pax.size = nil
                case "size":
                    guard let size = Int64(String(decoding: value, as: UTF8.self)), size >= 0 else {
                        throw malformed("a PAX size record is not a number")
                    }
                    overrides.pax.size = size
                case _ where key.hasPrefix("GNU.sparse."):
                    // Sparse files rename and reshape entries in ways a build context never needs.
                    throw ArchiveError(.unsupportedEntry, "the archive holds a sparse file: send regular files")
                default: continue
                }
            }
        }
    }

    /// Splits PAX records, `"<length> <key>=<value>\n"` each.
    private func paxRecords(_ data: ArraySlice<UInt8>) throws -> [(String, [UInt8])] {
        var records: [(String, [UInt8])] = []
        var rest = data
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: rest[..<space], as: UTF8.self)),
                length > space - rest.startIndex + 1, length <= rest.count
            else {
                throw malformed("a PAX record has no valid length")
            }
            let record = rest[(space + 1)..<(rest.startIndex + length)]
            guard record.last == UInt8(ascii: "\n"), let equals = record.firstIndex(of: UInt8(ascii: "="))
            else {
                throw malformed("a PAX record is not 'key=value' followed by a newline")
            }
            records.append(
                (
                    String(decoding: record[..<equals], as: UTF8.self),
                    Array(record[(equals + 1)...].dropLast())
                ))
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }

    private mutating func readEntry(_ block: [UInt8], typeFlag: UInt8, size: Int64) throws {
        let name = try overrides.gnuPath ?? overrides.pax.path ?? headerName(block)
        let linkName = overrides.gnuLinkPath ?? overrides.pax.linkPath ?? Self.string(block[TarFormat.linkName])
        overrides = Overrides()
        let path = try validatedPath(name)
        guard size <= Self.maxEntrySize else {
            throw malformed("entry \(Self.text(path)) announces \(size) bytes")
        }
        guard summary.entryCount < limits.entries else {
            throw ArchiveError(
                .tooManyEntries,
                "the build context holds more than \(limits.entries) entries (files, directories and links), "
                    + "its limit")
        }
        // An old-style regular entry named like a directory is one, without data (as Go reads it).
        let typeFlag =
            typeFlag == TarFormat.TypeFlag.regularOld && name.last == UInt8(ascii: "/")
            ? TarFormat.TypeFlag.directory : typeFlag
        switch typeFlag {
        // Not '7' (contiguous): Go's reader keeps it as it is, and the engine's unpacker
        // refuses it ("unhandled tar header type"); it falls to the unsupported types.
        case TarFormat.TypeFlag.regular, TarFormat.TypeFlag.regularOld:
            try count(size, of: "entry \(Self.text(path)) (\(size) bytes)")
            summary.contentBytes += size
            linkableEntries.insert(path.hashValue)
            state = .skipping(TarFormat.padded(size))
        case TarFormat.TypeFlag.directory:
            break
        case TarFormat.TypeFlag.symlink:
            // The target is relative to the link's directory, unless absolute (then it is
            // resolved against the image root, which is harmless here).
            let directory = path.split(separator: UInt8(ascii: "/")).dropLast()
            let resolved = directory.reduce(into: [UInt8]()) { $0 += $1 + [UInt8(ascii: "/")] } + linkName
            if linkName.first != UInt8(ascii: "/"), CleanPath.climbsOutOfRoot(CleanPath.clean(resolved)) {
                note("symlink \(Self.text(path)) points outside the context to \(Self.text(linkName))")
            }
            linkableEntries.insert(path.hashValue)  // `cp -al` and GNU tar link symlinks too
        case TarFormat.TypeFlag.hardLink:
            let target = CleanPath.clean(linkName)
            if linkName.first == UInt8(ascii: "/") || CleanPath.climbsOutOfRoot(target) {
                // Docker refuses to build it: refused here, before the upload becomes a job.
                throw unsafe(path, "is a hard link to \(Self.text(linkName)), outside the context")
            }
            guard linkableEntries.contains(target.hashValue) else {
                // The engine's unpacker fails on it; a Dockerfile so linked would pass as one.
                throw ArchiveError(
                    .unsupportedEntry,
                    "entry \(Self.text(path)) is a hard link to \(Self.text(linkName)), which is no file or symlink before it "
                        + "in the archive")
            }
            linkableEntries.insert(path.hashValue)
        case TarFormat.TypeFlag.characterDevice, TarFormat.TypeFlag.blockDevice,
            TarFormat.TypeFlag.fifo:
            throw ArchiveError(
                .unsupportedEntry,
                "entry \(Self.text(path)) is a device or a FIFO, which a build context cannot hold: remove it"
            )
        default:
            throw ArchiveError(
                .unsupportedEntry,
                "entry \(Self.text(path)) has the unsupported tar type '\(Self.text([typeFlag]))': "
                    + "send regular files, directories and links only"
            )
        }
        summary.entryCount += 1
        if path == dockerfile, typeFlag != TarFormat.TypeFlag.directory {
            summary.hasDockerfile = true
        }
    }

    /// The cleaned entry name, or an error when it is unsafe.
    private func validatedPath(_ name: [UInt8]) throws -> [UInt8] {
        guard !name.isEmpty else { throw malformed("an entry has an empty name") }
        guard !name.contains(0) else {
            throw unsafe(name, "contains a NUL byte")
        }
        guard name.first != UInt8(ascii: "/") else {
            throw unsafe(name, "is an absolute path; entries must be relative to the context root")
        }
        let cleaned = CleanPath.clean(name)
        guard !CleanPath.climbsOutOfRoot(cleaned) else {
            throw unsafe(name, "climbs out of the context root with '..'")
        }
        return cleaned
    }

    private func verifyChecksum(_ block: [UInt8]) throws {
        let stored = try? number(block[TarFormat.checksum], field: "checksum")
        let computed = TarFormat.checksums(of: block)
        guard let stored, stored == computed.unsigned || stored == computed.signed else {
            if offset == Int64(TarFormat.blockSize) {
                throw malformed(
                    "this is not a tar archive (its first header is not valid); send a tar or tar.gz")
            }
            throw malformed("the header checksum does not match")
        }
    }

    /// A numeric field: octal digits (space or NUL padded), or GNU's base-256 for big values.
    private func number(_ field: ArraySlice<UInt8>, field name: String) throws -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            let value = field.dropFirst()
            guard first == 0x80, value.dropLast(8).allSatisfy({ $0 == 0 }),
                value.suffix(8).first ?? 0 < 0x80
            else {
                throw malformed("the \(name) field holds a base-256 number that is negative or too big")
            }
            return value.suffix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
        let digits = field.drop { $0 == UInt8(ascii: " ") || $0 == 0 }.prefix {
            $0 != UInt8(ascii: " ") && $0 != 0
        }
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains($0) }),
            field.drop(while: { $0 == UInt8(ascii: " ") || $0 == 0 }).dropFirst(digits.count)
                .allSatisfy({ $0 == UInt8(ascii: " ") || $0 == 0 }),
            let value = digits.isEmpty ? 0 : Int64(String(decoding: digits, as: UTF8.self), radix: 8)
        else {
            throw malformed("the \(name) field is not an octal number")
        }
        return value
    }

    private mutating func note(_ text: String) {
        if summary.notes.count < Self.maxNotes {
            summary.notes.append(text)
        } else {
            omittedNotes += 1
        }
    }

    private func malformed(_ reason: String) -> ArchiveError {
        ArchiveError(
            .malformedArchive,
            "malformed tar archive at byte \(offset - Int64(TarFormat.blockSize)): \(reason)"
        )
    }

    private func unsafe(_ name: [UInt8], _ reason: String) -> ArchiveError {
        ArchiveError(
            .unsafeEntryPath, "unsafe entry \"\(Self.text(name))\" in the archive: it \(reason)")
    }

    /// The name in an entry's own header, `prefix/name` or `name`, as Go's reader (dockerd's)
    /// makes it from the header's format, each field up to its first NUL:
    /// - `ustar\0` magic, whatever the version: POSIX ustar, a 155-byte prefix;
    /// - the same with the `tar\0` trailer: star, a 131-byte prefix (the times follow it);
    /// - `ustar  \0`: GNU, no prefix: its bytes hold the access and change times. Go reads
    ///   them as a ustar prefix when they are not numbers (to read what Go writers before 1.8
    ///   mangled), so such a header is refused;
    /// - anything else: V7, no prefix.
    private func headerName(_ block: [UInt8]) throws -> [UInt8] {
        let name = Self.string(block[TarFormat.name])
        var prefix: [UInt8] = []
        if block[TarFormat.magic].elementsEqual(TarFormat.ustarMagic) {
            let isSTAR = block[TarFormat.starTrailer].elementsEqual(TarFormat.starTrailerValue)
            prefix = Self.string(block[isSTAR ? TarFormat.starPrefix : TarFormat.prefix])
        } else if block[TarFormat.magic].elementsEqual(TarFormat.gnuMagic),
            block[TarFormat.version].elementsEqual(TarFormat.gnuVersion)
        {
            // Go parses a time only when its first byte is not NUL.
            for field in [TarFormat.gnuAccessTime, TarFormat.gnuChangeTime] where block[field.lowerBound] != 0 {
                guard (try? number(block[field], field: "time")) != nil else {
                    throw malformed(
                        "entry \(Self.text(name)) has a GNU header whose access or change time is not a number, "
                            + "which Docker would read as part of its name: make the archive again with a current tar"
                    )
                }
            }
        }
        return prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
    }

    /// A NUL-terminated field.
    private static func string(_ field: ArraySlice<UInt8>) -> [UInt8] {
        Array(field.prefix { $0 != 0 })
    }

    /// `value`, or nil when it is empty: Go's reader ignores an empty PAX value or GNU long
    /// name and keeps the header's own field.
    private static func nonEmpty(_ value: [UInt8]) -> [UInt8]? {
        value.isEmpty ? nil : value
    }

    /// Bytes for a message, with anything unprintable escaped.
    private static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).unicodeScalars.map {
            $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0)
        }.joined()
    }
}
