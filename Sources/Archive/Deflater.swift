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
    private let decompressor: ZlibDecompressor
    /// True once the gzip trailer was read; bytes after it are ignored.
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
        while input.readableBytes > 0, !reachedEnd {
            output.clear(minimumCapacity: chunkSize)
            let before = input.readableBytes
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError
                where error == .bufferOverflow || error == .inputBufferOverflow
            {
                // output full, or zlib wants more input: both are progress
            } catch {
                throw ArchiveError(
                    .malformedArchive, "the gzip data is corrupt (\(error)): upload the archive again")
            }
            // zlib stops consuming at the end of the gzip member; no progress means we got there.
            if output.readableBytes == 0, input.readableBytes == before { reachedEnd = true }
            if output.readableBytes > 0 { try consume(&output) }
        }
        // dockerd's gzip reader goes on into a next member, where a bomb could hide.
        guard !reachedEnd || input.readableBytes == 0 else {
            throw ArchiveError(
                .malformedArchive,
                "data follows the end of the gzip stream (a second gzip member?); send one gzip stream")
        }
    }
}
