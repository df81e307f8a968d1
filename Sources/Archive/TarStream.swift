import NIOCore

/// How far a ``TarStream`` got: the uncompressed tar bytes produced so far, out of the exact
/// total planned from the scan, and the bytes handed out (compressed when gzip is on).
public struct TarProgress: Sendable, Equatable {
    /// Uncompressed tar bytes produced so far (headers, contents, padding).
    public var archiveBytes: Int64
    /// The uncompressed tar length once complete (``BuildContext/archiveBytes``).
    public var totalArchiveBytes: Int64
    /// Bytes handed to the consumer so far (gzip bytes when compressing).
    public var outputBytes: Int64

    public init(archiveBytes: Int64, totalArchiveBytes: Int64, outputBytes: Int64) {
        self.archiveBytes = archiveBytes
        self.totalArchiveBytes = totalArchiveBytes
        self.outputBytes = outputBytes
    }

    /// `archiveBytes / totalArchiveBytes`, from 0 to 1.
    public var fraction: Double {
        totalArchiveBytes > 0 ? min(Double(archiveBytes) / Double(totalArchiveBytes), 1) : 1
    }
}

/// A build context as a tar (ustar + PAX) stream, gzip-compressed on the fly by default.
///
/// The stream is pull-based: each `next()` reads just enough of the context's files to hand
/// out about `chunkSize` bytes, so a slow consumer (an HTTP upload) slows the reading down and
/// memory stays at a few chunks whatever the size of the context. Reads are plain blocking
/// `read(2)` calls of one chunk each, done on the consuming task.
///
/// Iterate it once per upload: each iterator reads the files again from the start.
public struct TarStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// How the tar bytes are handed out.
    public enum Compression: Sendable {
        /// Plain tar.
        case none
        /// gzip (RFC 1952) at a zlib level from 1 (fastest) to 9 (smallest). Level 1 by default:
        /// a deploy is usually bound by the compressor, not the network, and source trees still
        /// shrink several times.
        case gzip(level: Int32 = 1)
    }

    public static let defaultChunkSize = 64 * 1024

    private let context: BuildContext
    private let compression: Compression
    private let chunkSize: Int
    private let progress: (@Sendable (TarProgress) -> Void)?

    /// - Parameters:
    ///   - context: what to archive.
    ///   - compression: gzip (default) or none.
    ///   - chunkSize: the size of the chunks handed out, about.
    ///   - progress: called after each chunk, on the consuming task.
    public init(
        _ context: BuildContext,
        compression: Compression = .gzip(),
        chunkSize: Int = TarStream.defaultChunkSize,
        progress: (@Sendable (TarProgress) -> Void)? = nil
    ) {
        precondition(chunkSize >= TarFormat.blockSize, "chunkSize must be at least one tar block")
        self.context = context
        self.compression = compression
        self.chunkSize = chunkSize
        self.progress = progress
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            producer: TarProducer(context: context, compression: compression, chunkSize: chunkSize),
            progress: progress
        )
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private let producer: TarProducer
        private let progress: (@Sendable (TarProgress) -> Void)?

        fileprivate init(producer: TarProducer, progress: (@Sendable (TarProgress) -> Void)?) {
            self.producer = producer
            self.progress = progress
        }

        /// The next chunk, or nil after the gzip trailer.
        /// - Throws: ``ArchiveError`` when a file cannot be read or shrank since the scan;
        ///   `CancellationError` when the task is cancelled.
        public mutating func next() async throws -> ByteBuffer? {
            try Task.checkCancellation()
            guard let chunk = try producer.nextChunk() else { return nil }
            progress?(producer.progress)
            return chunk
        }
    }
}

/// The state of one pass over a context: which entry is next, the open file, the compressor.
private final class TarProducer {
    private let context: BuildContext
    private let compression: TarStream.Compression
    private let chunkSize: Int
    private var deflater: Deflater?
    private var nextEntry = 0
    /// The file whose content is being copied, and how many of its bytes are still due.
    private var openFile: (file: ReadableFile, size: Int64, remaining: Int64)?
    private var wroteEndMarker = false
    private var isFinished = false
    private(set) var progress: TarProgress

    init(context: BuildContext, compression: TarStream.Compression, chunkSize: Int) {
        self.context = context
        self.compression = compression
        self.chunkSize = chunkSize
        progress = TarProgress(archiveBytes: 0, totalArchiveBytes: context.archiveBytes, outputBytes: 0)
    }

    func nextChunk() throws -> ByteBuffer? {
        guard !isFinished else { return nil }
        var output: ByteBuffer
        switch compression {
        case .none:
            output = try tarBytes()
        case .gzip(let level):
            let deflater = try self.deflater ?? Deflater(level: level)
            self.deflater = deflater
            output = ByteBuffer()
            // zlib holds input back; keep feeding until a worthwhile chunk is out.
            while output.readableBytes < chunkSize / 2, !isFinished {
                var input = try tarBytes()
                try deflater.deflate(&input, into: &output, finish: wroteEndMarker)
                if wroteEndMarker { isFinished = true }
            }
        }
        if wroteEndMarker { isFinished = true }
        progress.outputBytes += Int64(output.readableBytes)
        return output.readableBytes > 0 ? output : nil
    }

    /// About `chunkSize` bytes of tar: headers, file bytes, padding, then the end marker.
    private func tarBytes() throws -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(chunkSize + TarFormat.blockSize)
        while buffer.readableBytes < chunkSize, !wroteEndMarker {
            if let (file, size, remaining) = openFile {
                let left = try copy(from: file, size: size, remaining: remaining, into: &buffer)
                openFile = left > 0 ? (file, size, left) : nil
            } else if nextEntry < context.entries.count {
                try start(context.entries[nextEntry], into: &buffer)
                nextEntry += 1
            } else {
                buffer.writeRepeatingByte(0, count: TarFormat.endMarkerSize)
                wroteEndMarker = true
            }
        }
        progress.archiveBytes += Int64(buffer.readableBytes)
        return buffer
    }

    private func start(_ entry: ContextEntry, into buffer: inout ByteBuffer) throws {
        TarHeader(entry).write(to: &buffer)
        guard entry.kind == .file, entry.size > 0 else { return }
        openFile = (
            try ReadableFile(path: context.directory + "/" + entry.path), entry.size, entry.size
        )
    }

    /// Copies file bytes up to the chunk size, then, at the end of the file, its padding.
    /// Returns how many bytes of the file are still due.
    private func copy(
        from file: ReadableFile, size: Int64, remaining: Int64, into buffer: inout ByteBuffer
    ) throws -> Int64 {
        let wanted = Int(
            min(remaining, Int64(max(chunkSize - buffer.readableBytes, TarFormat.blockSize))))
        let count = try file.read(upTo: wanted, into: &buffer)
        guard count > 0 else {
            throw ArchiveError(
                .fileChanged,
                "\(file.path) shrank while it was being sent (\(size) bytes expected): deploy again once it is stable"
            )
        }
        let left = remaining - Int64(count)
        if left == 0 { buffer.writeRepeatingByte(0, count: Int(TarFormat.padded(size) - size)) }
        return left
    }
}
