import NIOCore

/// Validates an uploaded build context, tar or tar.gz (told apart by the gzip magic bytes),
/// as it streams in: gzip is inflated chunk by chunk and the tar checked by ``TarValidator``,
/// so memory stays small whatever the archive's size.
///
/// Use one instance per archive, from one task:
/// ```swift
/// let validator = ArchiveValidator()
/// for try await chunk in body { try validator.consume(chunk) }
/// let summary = try validator.finish()
/// ```
/// or, for a file on disk, ``inspect(file:dockerfile:limits:)``.
public final class ArchiveValidator {
    private static let gzipMagic: [UInt8] = [0x1f, 0x8b]
    private static let chunkSize = 64 * 1024

    private enum Encoding {
        /// Fewer than two bytes seen so far.
        case undecided(ByteBuffer)
        case plain
        case gzip(Inflater)
    }

    private var tar: TarValidator
    private var encoding = Encoding.undecided(ByteBuffer())

    /// - Parameters:
    ///   - dockerfile: the Dockerfile path to look for, relative to the root.
    ///   - limits: how much the archive may unpack to.
    public init(dockerfile: String = "Dockerfile", limits: ArchiveLimits = .unlimited) {
        tar = TarValidator(dockerfile: dockerfile, limits: limits)
    }

    /// Checks the next bytes of the archive.
    /// - Throws: ``ArchiveError`` as soon as the archive is known to be malformed, unsafe or
    ///   over a limit.
    public func consume(_ bytes: ByteBuffer) throws {
        var bytes = bytes
        switch encoding {
        case .undecided(var head):
            head.writeBuffer(&bytes)
            guard head.readableBytes >= Self.gzipMagic.count else {
                encoding = .undecided(head)
                return
            }
            if head.readableBytesView.starts(with: Self.gzipMagic) {
                encoding = .gzip(try Inflater())
            } else {
                encoding = .plain
            }
            try consume(head)
        case .plain:
            try tar.consume(&bytes)
        case .gzip(let inflater):
            try inflater.inflate(&bytes, chunkSize: Self.chunkSize) { try tar.consume(&$0) }
        }
    }

    /// Ends the archive.
    /// - Returns: what the archive holds.
    /// - Throws: ``ArchiveError`` when the archive stopped early.
    public func finish() throws -> ArchiveSummary {
        if case .undecided(let head) = encoding, head.readableBytes > 0 {
            encoding = .plain
            try consume(head)
        }
        if case .gzip(let inflater) = encoding { try inflater.finish() }
        var summary = try tar.finish()
        if case .gzip = encoding { summary.isCompressed = true }
        return summary
    }

    /// Validates the tar or tar.gz file at `path`, reading it in 64 KiB chunks.
    /// - Parameters:
    ///   - path: the archive.
    ///   - dockerfile: the Dockerfile path to look for, relative to the root.
    ///   - limits: how much the archive may unpack to.
    /// - Throws: ``ArchiveError`` when the file cannot be read, or is malformed, unsafe or
    ///   over a limit.
    public static func inspect(
        file path: String, dockerfile: String = "Dockerfile", limits: ArchiveLimits = .unlimited
    ) throws -> ArchiveSummary {
        let validator = ArchiveValidator(dockerfile: dockerfile, limits: limits)
        let file = try ReadableFile(path: path)
        var buffer = ByteBuffer()
        while true {
            buffer.clear(minimumCapacity: chunkSize)
            guard try file.read(upTo: chunkSize, into: &buffer) > 0 else { break }
            try validator.consume(buffer)
        }
        return try validator.finish()
    }
}
