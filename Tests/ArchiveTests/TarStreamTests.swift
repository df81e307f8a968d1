import Foundation
import NIOCore
import Testing

@testable import Archive

/// The writer against its real peer: GNU tar lists and extracts what it wrote.
@Suite("TarStream")
struct TarStreamTests {
    static let longPath =
        String(repeating: "a", count: 60) + "/" + String(repeating: "b", count: 60) + "/file.txt"
    static let veryLongPath =
        (1...4).map {
            String(repeating: Character(UnicodeScalar(UInt8(ascii: "c") + UInt8($0))), count: 70)
        }
        .joined(separator: "/") + "/deep.txt"
    static let nfcName = "caf\u{E9}-nfc.txt"
    static let nfdName = "cafe\u{301}-nfd.txt"
    static let longLinkTarget = longPath

    /// A context with every kind of entry the writer must get right.
    static func makeContext(in directory: String, bigFileBytes: Int) throws {
        try makeFile(directory + "/Dockerfile", Data("FROM scratch\n".utf8))
        try makeFile(directory + "/bin/run.sh", Data("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
        try makeFile(directory + "/private.key", Data("k".utf8), mode: 0o600)
        try makeFile(directory + "/" + longPath, Data("long\n".utf8))
        try makeFile(directory + "/" + veryLongPath, Data("very long\n".utf8))
        try makeFile(directory + "/" + nfcName, Data("nfc".utf8))
        try makeFile(directory + "/" + nfdName, Data("nfd".utf8))
        try makeFile(directory + "/big.bin", pseudoRandomBytes(count: bigFileBytes))
        try makeFile(directory + "/secret.txt", Data("do not send".utf8))
        try makeFile(directory + "/.dockerignore", Data("secret.txt\n".utf8))
        try FileManager.default.createDirectory(
            atPath: directory + "/empty", withIntermediateDirectories: true)
        let files = FileManager.default
        try files.createSymbolicLink(atPath: directory + "/run", withDestinationPath: "bin/run.sh")
        try files.createSymbolicLink(
            atPath: directory + "/long-link", withDestinationPath: longLinkTarget)
        try files.createSymbolicLink(atPath: directory + "/dangling", withDestinationPath: "../outside")
        // Hard links: sent as links to the first name, the content once.
        try files.linkItem(atPath: directory + "/big.bin", toPath: directory + "/big.link")
        try files.linkItem(atPath: directory + "/bin/run.sh", toPath: directory + "/run-again.sh")
    }

    @Test func gnuTarExtractsExactlyWhatWasScanned() async throws {
        try await withTemporaryDirectory { root in
            let source = root + "/app"
            try Self.makeContext(in: source, bigFileBytes: 20 << 20)
            let context = try BuildContext(scanning: source)
            #expect(context.hasDockerfile)
            #expect(!context.entries.contains { $0.path == "secret.txt" })
            #expect(context.entries.contains { $0.path == Self.nfdName })
            #expect(context.entries.contains { $0.path == Self.nfcName })

            let progress = ProgressLog()
            let archive = root + "/context.tar.gz"
            let chunks = try await write(
                TarStream(context, progress: { progress.append($0) }), to: archive)
            #expect(
                chunks.allSatisfy { $0 <= 4 * TarStream.defaultChunkSize },
                "chunks stay small: \(chunks.max() ?? 0)")
            let reports = progress.reports
            #expect(reports.last?.archiveBytes == context.archiveBytes)
            #expect(reports.last?.outputBytes == Int64(chunks.reduce(0, +)))
            #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.archiveBytes <= $1.archiveBytes })

            let listing = try run("tar", ["-tvzf", archive]).output
            #expect(listing.contains("-rwxr-xr-x 0/0"), "\(listing)")
            #expect(listing.contains("bin/run.sh"))
            #expect(listing.contains("drwxr-xr-x 0/0") && listing.contains("empty/"))
            #expect(!listing.contains("secret.txt"))
            #expect(listing.contains("big.link link to big.bin"), "\(listing)")
            #expect(listing.contains("run-again.sh link to bin/run.sh"), "\(listing)")
            #expect(context.contentBytes < 2 * (20 << 20), "a hard link's content is sent once")

            let extracted = root + "/extracted"
            try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
            try run("tar", ["-xzf", archive, "-C", extracted])
            let copy = try BuildContext(scanning: extracted)
            #expect(copy.entries == context.entries)
            for entry in context.entries where entry.kind == .file {
                let original = FileManager.default.contents(atPath: source + "/" + entry.path)
                let extractedBytes = FileManager.default.contents(atPath: extracted + "/" + entry.path)
                #expect(original == extractedBytes, "content of \(entry.path)")
            }
        }
    }

    /// zlib can run out of room while finishing, after it took all input: the stream must
    /// still end with the last block and the gzip trailer. Sizes stepped over 1 KB–1.2 MB hit
    /// that for about a quarter of them; GNU gzip checks each stream whole.
    @Test func gzipStreamsAreCompleteForAnySize() async throws {
        var truncated: [Int] = []
        try await withTemporaryDirectory { directory in
            for size in stride(from: 1_000, through: 1_200_000, by: 7_919) {
                let deflater = try Deflater(level: 6)
                var output = ByteBuffer()
                // As the tar stream feeds it: chunks, then a short last one (the end marker)
                // with `finish`, while zlib still holds input back.
                let bytes = pseudoRandomBytes(count: size / 2) + Data(repeating: 0x61, count: size - size / 2)
                for start in stride(from: 0, to: bytes.count, by: 65_536) {
                    var chunk = ByteBuffer(bytes: bytes[start..<min(start + 65_536, bytes.count)])
                    try deflater.deflate(&chunk, into: &output, finish: false)
                }
                // Into a fresh buffer, as each chunk of the stream is.
                var endMarker = ByteBuffer(repeating: 0, count: 1_024)
                var last = ByteBuffer()
                try deflater.deflate(&endMarker, into: &last, finish: true)
                output.writeBuffer(&last)
                let path = directory + "/\(size).gz"
                try Data(output.readableBytesView).write(to: URL(fileURLWithPath: path))
                if try run("gzip", ["-t", path], check: false).status != 0 {
                    truncated.append(size)
                }
            }
        }
        #expect(truncated.isEmpty, "gzip -t refuses the streams of \(truncated.count) sizes: \(truncated)")
    }

    @Test func plainTarHasExactlyThePlannedLength() async throws {
        try await withTemporaryDirectory { root in
            try Self.makeContext(in: root + "/app", bigFileBytes: 70_001)
            let context = try BuildContext(scanning: root + "/app")
            let archive = root + "/context.tar"
            let chunks = try await write(
                TarStream(context, compression: .none, chunkSize: 4096), to: archive)
            #expect(Int64(chunks.reduce(0, +)) == context.archiveBytes)
            #expect(chunks.dropLast().allSatisfy { $0 >= 4096 })
            let names = try run("tar", ["-tf", archive]).output.split(separator: "\n").map(String.init)
            #expect(names.count == context.entries.count)
            #expect(names.contains(Self.veryLongPath))
        }
    }

    @Test func aFileThatShrinksFailsTheStream() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/data.bin", pseudoRandomBytes(count: 10_000))
            let context = try BuildContext(scanning: root)
            try Data("short".utf8).write(to: URL(fileURLWithPath: root + "/data.bin"))
            await #expect {
                try await write(TarStream(context), to: root + "/out.tar.gz")
            } throws: { ($0 as? ArchiveError)?.kind == .fileChanged }
        }
    }

    @Test func aFileThatVanishesFailsWithItsPath() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/gone.txt", Data("x".utf8))
            let context = try BuildContext(scanning: root)
            try FileManager.default.removeItem(atPath: root + "/gone.txt")
            await #expect {
                try await write(TarStream(context), to: root + "/out.tar.gz")
            } throws: { error in
                let error = error as? ArchiveError
                return error?.kind == .unreadable && error?.message.contains("gone.txt") == true
            }
        }
    }

    @Test func cancellationStopsTheStream() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/big.bin", pseudoRandomBytes(count: 1 << 20))
            let context = try BuildContext(scanning: root)
            let task = Task {
                var iterator = TarStream(context, compression: .none).makeAsyncIterator()
                withUnsafeCurrentTask { $0?.cancel() }
                return try await iterator.next()
            }
            await #expect(throws: CancellationError.self) { try await task.value }
        }
    }
}

/// Collects progress reports from the stream's callback.
/// `@unchecked Sendable` is safe: `storage` is only touched while `lock` is held.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [TarProgress] = []
    func append(_ progress: TarProgress) { lock.withLock { storage.append(progress) } }
    var reports: [TarProgress] { lock.withLock { storage } }
}
