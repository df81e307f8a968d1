import Foundation
import NIOCore
import NIOFoundationCompat
import NIOPosix

/// The contents of a file as a sequence of chunks, read on NIO's blocking-I/O thread pool so
/// a large file streams as a request body without ever being in memory whole.
///
/// The file is opened when the sequence is made, so a missing file fails before any request.
/// It is closed when the last copy of the sequence and its iterator are gone (`FileHandle`
/// closes on deinit), which is after the HTTP client has stopped reading it.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    static let chunkSize = 64 * 1024

    private let handle: FileHandle

    init(path: String) throws {
        self.handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: handle)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle

        mutating func next() async throws -> ByteBuffer? {
            let handle = handle
            let data = try await NIOThreadPool.singleton.runIfActive {
                try handle.read(upToCount: FileChunks.chunkSize)
            }
            guard let data, !data.isEmpty else { return nil }
            return ByteBuffer(data: data)
        }
    }
}
