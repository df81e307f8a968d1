import CompressNIO
import NIOCore

/// Streaming gzip compression over compress-nio's zlib binding: feed input as it comes,
/// collect whatever zlib has ready, and finish once.
final class Deflater {
    private let compressor: ZlibCompressor

    /// - Parameter level: zlib's compression level, 1 (fastest) to 9 (smallest).
    init(level: Int32) throws {
        precondition((1...9).contains(level), "gzip levels go from 1 to 9")
        do {
            compressor = try ZlibCompressor(
                algorithm: .gzip, configuration: .init(compressionLevel: level))
        } catch {
            throw ArchiveError(.compression, "cannot start gzip compression: \(error)")
        }
    }

    /// Compresses all of `input` into `output`, growing `output` as needed. With `finish`, also
    /// flushes zlib and writes the gzip trailer; nothing may be fed afterwards.
    func deflate(_ input: inout ByteBuffer, into output: inout ByteBuffer, finish: Bool) throws {
        while true {
            output.reserveCapacity(minimumWritableBytes: max(compressor.maxSize(from: input), 4096))
            do {
                try compressor.deflate(from: &input, to: &output, flush: finish ? .finish : .no)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // Output is full: make room and go on. When finishing, this can happen after
                // all input was taken, while zlib still holds its last block and the trailer.
                continue
            } catch {
                throw ArchiveError(.compression, "gzip compression failed: \(error)")
            }
            if finish || input.readableBytes == 0 { return }
        }
    }
}

/// Streaming gzip decompression: feed compressed bytes as they come, get plain bytes out.
final class Inflater {
    /// What one call into zlib left to do.
    private enum Step {
        /// The output room filled up: zlib may hold more output.
        case outputFull
        /// Every input byte was used; the stream goes on.
        case needsInput
        /// The gzip trailer was read.
        case ended
    }

    private let decompressor: ZlibDecompressor
    /// Where zlib is pointed when there is no input, to ask whether the stream ended; its
    /// storage is allocated, as zlib's binding needs a base address even for no bytes.
    private var noInput = ByteBufferAllocator().buffer(capacity: 16)
    /// True once the gzip trailer was read; bytes after it are refused.
    private(set) var reachedEnd = false

    init() throws {
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw ArchiveError(.compression, "cannot start gzip decompression: \(error)")
        }
    }

    /// Decompresses `input`, handing plain bytes to `consume` at most `chunkSize` at a time.
    func inflate(
        _ input: inout ByteBuffer, chunkSize: Int, _ consume: (inout ByteBuffer) throws -> Void
    ) throws {
        var output = ByteBuffer()
        while !reachedEnd {
            output.clear(minimumCapacity: chunkSize)
            let step = try self.step(from: &input, to: &output)
            if output.readableBytes > 0 { try consume(&output) }
            switch step {
            case .outputFull: continue
            case .needsInput: return
            case .ended: reachedEnd = true
            }
        }
        // dockerd's gzip reader goes on into a next member, where a bomb could hide.
        guard input.readableBytes == 0 else {
            throw ArchiveError(
                .malformedArchive,
                "data follows the end of the gzip stream (a second gzip member?); send one gzip stream")
        }
    }

    /// Checks that the stream reached its trailer once the upload ended.
    func finish() throws {
        guard reachedEnd else {
            throw ArchiveError(
                .truncatedArchive,
                "the gzip stream stops before its end (the upload was cut short): upload the archive again")
        }
    }

    private func step(
        from input: inout ByteBuffer, to output: inout ByteBuffer, isProbe: Bool = false
    ) throws -> Step {
        do {
            try decompressor.inflate(from: &input, to: &output)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return .outputFull
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            return .needsInput
        } catch {
            throw ArchiveError(
                .malformedArchive, "the gzip data is corrupt (\(error)): upload the archive again")
        }
        // No error: zlib either ended the stream, or used all its input with room to spare.
        // Bytes left over can only follow the end; else ask again with no input: past the
        // end zlib says again that it ended; before the end, that it needs input.
        if isProbe || input.readableBytes > 0 { return .ended }
        return try step(from: &noInput, to: &output, isProbe: true)
    }
}
