import Foundation
import NIOCore
import Testing

@testable import Archive

/// The reader against archives made by GNU tar, by our writer, and by hand to be hostile.
@Suite("ArchiveValidator")
struct ArchiveValidatorTests {
    private func rejects(
        _ path: String, limits: ArchiveLimits = .unlimited, as kind: ArchiveError.Kind, mentioning text: String? = nil
    ) {
        #expect {
            try ArchiveValidator.inspect(file: path, limits: limits)
        } throws: { error in
            guard let error = error as? ArchiveError else { return false }
            return error.kind == kind && text.map { error.message.contains($0) } ?? true
        }
    }

    @Test(arguments: [
        ["-czf"], ["--format=gnu", "-czf"], ["--format=oldgnu", "-cf"], ["--format=posix", "-czf"],
        ["--format=ustar", "-cf"],
    ])
    func acceptsGNUTarArchives(flags: [String]) async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/app/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/app/bin/tool", Data(repeating: 7, count: 3000), mode: 0o755)
            let longName =
                String(repeating: "n", count: 90) + "/" + String(repeating: "m", count: 60) + ".txt"
            try makeFile(root + "/app/" + longName, Data("long".utf8))
            if flags.first != "--format=ustar" {
                try makeFile(root + "/app/" + TarStreamTests.nfdName, Data("nfd".utf8))
                try FileManager.default.createSymbolicLink(
                    atPath: root + "/app/escape", withDestinationPath: "../../etc/passwd"
                )
            }
            try run("ln", [root + "/app/bin/tool", root + "/app/bin/tool-hardlink"])
            let archive = root + "/gnu.tar"
            try run("tar", flags + [archive, "-C", root + "/app", "."])
            let expectedEntries = try run("tar", ["-tf", archive]).output.split(separator: "\n").count

            let summary = try ArchiveValidator.inspect(file: archive)
            #expect(summary.entryCount == expectedEntries)
            #expect(summary.hasDockerfile)
            #expect(summary.isCompressed == flags.contains("-czf"))
            #expect(summary.contentBytes == 3000 + 4 + 13 + (flags.first == "--format=ustar" ? 0 : 3))
            if flags.first != "--format=ustar" {
                #expect(summary.notes == ["symlink escape points outside the context to ../../etc/passwd"])
            }
        }
    }

    @Test func acceptsWhatTheWriterWrites() async throws {
        try await withTemporaryDirectory { root in
            try TarStreamTests.makeContext(in: root + "/app", bigFileBytes: 300_000)
            let context = try BuildContext(scanning: root + "/app")
            for (name, compression) in [("out.tar.gz", TarStream.Compression.gzip()), ("out.tar", .none)] {
                try await write(
                    TarStream(context, compression: compression, chunkSize: 1000), to: root + "/" + name)
                let summary = try ArchiveValidator.inspect(file: root + "/" + name)
                #expect(summary.entryCount == context.entries.count)
                #expect(summary.contentBytes == context.contentBytes)
                #expect(summary.archiveBytes == context.archiveBytes)
                #expect(summary.hasDockerfile)
                #expect(summary.notes == ["symlink dangling points outside the context to ../outside"])
            }
        }
    }

    @Test func acceptsBytesFedOneAtATime() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/app/Dockerfile", Data("FROM scratch\n".utf8))
            try run("tar", ["-czf", root + "/a.tar.gz", "-C", root + "/app", "."])
            let validator = ArchiveValidator()
            for byte in try Data(contentsOf: URL(fileURLWithPath: root + "/a.tar.gz")) {
                try validator.consume(ByteBuffer(bytes: [byte]))
            }
            let summary = try validator.finish()
            #expect(summary.entryCount == 2 && summary.hasDockerfile && summary.isCompressed)
        }
    }

    @Test func rejectsTraversalAndAbsolutePaths() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/outside.txt", Data("x".utf8))
            try makeFile(root + "/work/inside.txt", Data("x".utf8))
            try run(
                "tar", ["-czPf", root + "/dotdot.tar.gz", "inside.txt", "../outside.txt"],
                in: root + "/work")
            rejects(root + "/dotdot.tar.gz", as: .unsafeEntryPath, mentioning: "../outside.txt")
            try run(
                "tar", ["-cPf", root + "/sneaky.tar", "--transform=s,^,a/../,", "../outside.txt"],
                in: root + "/work"
            )
            rejects(root + "/sneaky.tar", as: .unsafeEntryPath, mentioning: "'..'")
            try run("tar", ["-czPf", root + "/absolute.tar.gz", root + "/outside.txt"])
            rejects(root + "/absolute.tar.gz", as: .unsafeEntryPath, mentioning: "absolute")
        }
    }

    @Test func rejectsNULInAPAXPath() async throws {
        try await withTemporaryDirectory { root in
            let name = String(repeating: "p", count: 120)
            try makeFile(root + "/app/" + name, Data("x".utf8))
            try run("tar", ["--format=posix", "-cf", root + "/pax.tar", "-C", root + "/app", name])
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/pax.tar")))
            let record = Array(" path=".utf8)
            let start = try #require(
                (0..<bytes.count - record.count).first {
                    bytes[$0..<$0 + record.count].elementsEqual(record)
                })
            bytes[start + record.count + 3] = 0
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/pax.tar"))
            rejects(root + "/pax.tar", as: .unsafeEntryPath, mentioning: "NUL")
        }
    }

    @Test func rejectsTruncatedGarbageAndBadChecksums() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/app/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/app/data.bin", pseudoRandomBytes(count: 200_000))
            try run("tar", ["-cf", root + "/good.tar", "-C", root + "/app", "."])
            try run("tar", ["-czf", root + "/good.tar.gz", "-C", root + "/app", "."])
            let tar = try Data(contentsOf: URL(fileURLWithPath: root + "/good.tar"))
            let gzip = try Data(contentsOf: URL(fileURLWithPath: root + "/good.tar.gz"))

            try tar.prefix(100_000).write(to: URL(fileURLWithPath: root + "/cut.tar"))
            rejects(root + "/cut.tar", as: .truncatedArchive)
            try gzip.prefix(gzip.count / 2).write(to: URL(fileURLWithPath: root + "/cut.tar.gz"))
            rejects(root + "/cut.tar.gz", as: .truncatedArchive)
            // The deflate data whole, the gzip trailer (CRC and length) cut off: the tar inside
            // is complete, but dockerd's reader would fail at the end of the stream.
            try gzip.dropLast(8).write(to: URL(fileURLWithPath: root + "/no-trailer.tar.gz"))
            rejects(root + "/no-trailer.tar.gz", as: .truncatedArchive, mentioning: "gzip stream stops")
            #expect(try ArchiveValidator.inspect(file: root + "/good.tar.gz").isCompressed)
            try Data().write(to: URL(fileURLWithPath: root + "/empty.tar"))
            rejects(root + "/empty.tar", as: .truncatedArchive, mentioning: "empty")
            try Data("just some text, not an archive\n".utf8).write(to: URL(fileURLWithPath: root + "/short.tar"))
            rejects(root + "/short.tar", as: .truncatedArchive, mentioning: "less than one tar header")

            try pseudoRandomBytes(count: 5000).write(to: URL(fileURLWithPath: root + "/garbage.tar"))
            rejects(root + "/garbage.tar", as: .malformedArchive, mentioning: "not a tar archive")
            var fakeGzip = Data([0x1f, 0x8b])
            fakeGzip.append(pseudoRandomBytes(count: 5000))
            try fakeGzip.write(to: URL(fileURLWithPath: root + "/garbage.tar.gz"))
            rejects(root + "/garbage.tar.gz", as: .malformedArchive, mentioning: "gzip")

            var flipped = tar
            flipped[3] ^= 0x01  // a byte of the first name: the checksum no longer matches
            try flipped.write(to: URL(fileURLWithPath: root + "/flipped.tar"))
            rejects(root + "/flipped.tar", as: .malformedArchive)
            var secondHeader = tar
            let second = try #require(
                secondHeader.indices.dropFirst(512).first { $0 % 512 == 0 && secondHeader[$0] != 0 })
            secondHeader[second + 1] ^= 0x01
            try secondHeader.write(to: URL(fileURLWithPath: root + "/checksum.tar"))
            rejects(root + "/checksum.tar", as: .malformedArchive, mentioning: "checksum")
        }
    }

    @Test func rejectsDevices() async throws {
        try await withTemporaryDirectory { root in
            try run("tar", ["-cf", root + "/device.tar", "-C", "/dev", "null"])
            rejects(root + "/device.tar", as: .unsupportedEntry, mentioning: "null")
        }
    }

    // MARK: Hand-made headers, read as dockerd's Go reader reads them

    /// A header block with a valid checksum, POSIX ustar unless `magic` (the magic and version
    /// fields) says otherwise; `sizeField` replaces the octal size, `fields` puts bytes at offsets.
    private static func header(
        _ name: String, type: Character = "0", size: Int = 0, sizeField: [UInt8]? = nil, linkName: String = "",
        magic: String = "ustar\000", fields: [Int: String] = [:]
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Collection<UInt8>, at offset: Int) {
            block.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        }
        put(name.utf8, at: 0)
        put("0000644\0".utf8, at: 100)
        put(
            sizeField ?? Array((String(repeating: "0", count: 11) + String(size, radix: 8)).suffix(11).utf8) + [0],
            at: 124)
        put([type.asciiValue!], at: 156)
        put(linkName.utf8, at: 157)
        put(magic.utf8, at: 257)
        for (offset, bytes) in fields { put(bytes.utf8, at: offset) }
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(Array((String(repeating: "0", count: 6) + String(sum, radix: 8)).suffix(6).utf8) + [0, 32], at: 148)
        return block
    }

    /// An entry: its header, then its data padded to whole blocks.
    private static func entry(_ name: String, type: Character = "0", data: [UInt8]) -> [UInt8] {
        header(name, type: type, size: data.count) + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    private static func pax(_ records: [(String, String)], type: Character = "x") -> [UInt8] {
        let data = records.flatMap { key, value -> [UInt8] in
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).count + body.utf8.count > length { length += 1 }
            return Array((String(length) + body).utf8)
        }
        return entry("PaxHeaders/x", type: type, data: data)
    }

    /// `entries`, a Dockerfile and the end marker, written to a file and inspected.
    private func inspect(_ entries: [UInt8]) async throws -> Result<ArchiveSummary, ArchiveError> {
        try await withTemporaryDirectory { root in
            let bytes =
                Self.entry("Dockerfile", data: Array("FROM scratch\n".utf8)) + entries
                + [UInt8](repeating: 0, count: 1024)
            try Data(bytes).write(to: URL(fileURLWithPath: root + "/hand.tar"))
            do {
                return .success(try ArchiveValidator.inspect(file: root + "/hand.tar"))
            } catch let error as ArchiveError {
                return .failure(error)
            }
        }
    }

    @Test func refusesSizesThatWouldOverflow() async throws {
        let base256 = [0x80] + [UInt8](repeating: 0, count: 3) + [0x7F] + [UInt8](repeating: 0xFF, count: 7)
        for archive in [
            Self.header("big", sizeField: base256),
            Self.pax([("size", String(Int64.max))]) + Self.header("big"),
        ] {
            let result = try await inspect(archive)
            #expect(throws: ArchiveError.self) { try result.get() }
        }
    }

    @Test func namesAreTheOnesDockerReads() async throws {
        // A GNU long name wins over a PAX path; of two PAX headers only the last counts.
        let gnuOverPAX =
            Self.entry("././@LongLink", type: "L", data: Array("../../x\0".utf8)) + Self.pax([("path", "ok")])
            + Self.header("ok")
        let twoPAX = Self.pax([("path", "ok")]) + Self.pax([("comment", "1")]) + Self.header("../../x")
        for archive in [gnuOverPAX, twoPAX] {
            let result = try await inspect(archive)
            #expect(throws: ArchiveError.self) { try result.get() }
            if case .failure(let error) = result { #expect(error.kind == .unsafeEntryPath, "\(error)") }
        }
    }

    @Test func nothingHidesInTheDataOfADirectoryOrBehindOtherReaders() async throws {
        // An old-style entry named `d/` is a directory without data: what follows is a header.
        let hiddenDevice = Self.header("d/", type: "\0", size: 512) + Self.header("dev", type: "3")
        let sparse = Self.pax([("GNU.sparse.major", "1"), ("GNU.sparse.name", "../x")]) + Self.header("s")
        let hardLink = Self.header("link", type: "1", linkName: "../../etc/passwd")
        // Type '7' (contiguous): Go's reader keeps it, and the engine's unpacker refuses it.
        let contiguous = Self.header("c", type: "7")
        let expected: [ArchiveError.Kind] = [.unsupportedEntry, .unsupportedEntry, .unsafeEntryPath, .unsupportedEntry]
        for (archive, kind) in zip([hiddenDevice, sparse, hardLink, contiguous], expected) {
            let result = try await inspect(archive)
            if case .failure(let error) = result {
                #expect(error.kind == kind, "\(error)")
            } else {
                Issue.record("accepted an archive dockerd would read differently")
            }
        }
    }

    @Test("a hard link must name a file before it; a Dockerfile linked to nothing is refused, not taken for one")
    func hardLinksNameEarlierFiles() async throws {
        let file = Self.entry("app.txt", data: Array("hello\n".utf8))
        let linked = Self.header("Dockerfile", type: "1", linkName: "app.txt")
        #expect(try Self.validate(file + linked + Self.endMarker).hasDockerfile)
        // A link to a symlink (cp -al, GNU tar), also through `./`, as the engine takes it.
        let symlink = Self.header("x", type: "2", linkName: "app.txt")
        #expect(throws: Never.self) {
            try Self.validate(file + symlink + Self.header("./y", type: "1", linkName: "./x") + Self.endMarker)
        }
        for archive in [
            Self.header("Dockerfile", type: "1", linkName: "missing"),  // to nothing
            Self.header("Dockerfile", type: "1", linkName: "app.txt") + file,  // to a later file
            Self.header("dir/", type: "5") + Self.header("Dockerfile", type: "1", linkName: "dir"),  // to a folder
        ] {
            #expect(throws: ArchiveError.self) { try Self.validate(archive + Self.endMarker) }
        }
    }

    // MARK: Limits, checked header by header

    private static let dockerfile = entry("Dockerfile", data: Array("FROM scratch\n".utf8))
    private static let endMarker = [UInt8](repeating: 0, count: 1024)

    /// `bytes` fed to a validator in one piece, then the summary.
    private static func validate(_ bytes: [UInt8], limits: ArchiveLimits = .unlimited) throws -> ArchiveSummary {
        let validator = ArchiveValidator(limits: limits)
        try validator.consume(ByteBuffer(bytes: bytes))
        return try validator.finish()
    }

    private static func isError(_ error: any Error, _ kind: ArchiveError.Kind, mentioning texts: String...) -> Bool {
        guard let error = error as? ArchiveError else { return false }
        return error.kind == kind && texts.allSatisfy { error.message.contains($0) }
    }

    @Test func acceptsAContextExactlyAtItsLimits() throws {
        let archive =
            Self.entry("Dockerfile", data: [UInt8](repeating: 1, count: 400))
            + Self.entry("a", data: [UInt8](repeating: 2, count: 600)) + Self.header("d/", type: "5") + Self.endMarker
        let summary = try Self.validate(archive, limits: ArchiveLimits(contentBytes: 1000, entries: 3))
        #expect(summary.entryCount == 3 && summary.contentBytes == 1000 && summary.hasDockerfile)
    }

    @Test func refusesContentOverTheLimitAtItsHeader() throws {
        let validator = ArchiveValidator(limits: ArchiveLimits(contentBytes: 1000, entries: 100))
        try validator.consume(ByteBuffer(bytes: Self.entry("a", data: [UInt8](repeating: 1, count: 900))))
        // The header alone is refused: none of the 101 bytes it announces was sent.
        #expect {
            try validator.consume(ByteBuffer(bytes: Self.header("b", size: 101)))
        } throws: { Self.isError($0, .contextTooLarge, mentioning: "1000 bytes", "entry b (101 bytes)") }
    }

    @Test func refusesEntriesOverTheLimitAtTheirHeader() throws {
        let twenty = Self.dockerfile + (1..<20).flatMap { Self.header("empty-\($0)") }
        for type: Character in ["0", "5", "2"] {
            let validator = ArchiveValidator(limits: ArchiveLimits(contentBytes: 1 << 30, entries: 20))
            try validator.consume(ByteBuffer(bytes: twenty))
            #expect {
                try validator.consume(ByteBuffer(bytes: Self.header("one-more", type: type)))
            } throws: { Self.isError($0, .tooManyEntries, mentioning: "20 entries") }
        }
    }

    @Test func refusesAGzipBomb() async throws {
        try await withTemporaryDirectory { root in
            // 32 MiB of zeros: about 32 KiB once gzipped.
            let tar = Self.dockerfile + Self.header("zeros", size: 32 << 20) + [UInt8](repeating: 0, count: 32 << 20)
            try Data(tar + Self.endMarker).write(to: URL(fileURLWithPath: root + "/bomb.tar"))
            try run("gzip", [root + "/bomb.tar"])
            let limits = ArchiveLimits(contentBytes: 1 << 20, entries: 100)
            rejects(root + "/bomb.tar.gz", limits: limits, as: .contextTooLarge, mentioning: "zeros")
            #expect(try ArchiveValidator.inspect(file: root + "/bomb.tar.gz").contentBytes == (32 << 20) + 13)
        }
    }

    @Test func extensionHeadersCountTowardTheContentLimit() throws {
        // Unpacked to nothing, but read all the same: a chain of them cannot run unchecked.
        let comment = Self.pax([("comment", String(repeating: "c", count: 500))])
        let validator = ArchiveValidator(limits: ArchiveLimits(contentBytes: 1000, entries: 100))
        try validator.consume(ByteBuffer(bytes: Self.dockerfile + comment + Self.entry("a", data: [1])))
        #expect {
            try validator.consume(ByteBuffer(bytes: comment))
        } throws: { Self.isError($0, .contextTooLarge, mentioning: "1000 bytes", "an extension header") }
    }

    @Test func dataAfterTheEndOfTheArchiveIsBounded() async throws {
        try await withTemporaryDirectory { root in
            // The engine's unpacker reads (and inflates) what follows the end-of-archive
            // marker too: GNU tar's record padding passes, 8 MiB of zeros gzipped into a few
            // KiB do not.
            for (name, trailing, accepted) in [("padded", 9 << 10, true), ("tail", 8 << 20, false)] {
                let tar = Self.dockerfile + Self.endMarker + [UInt8](repeating: 0, count: trailing)
                try Data(tar).write(to: URL(fileURLWithPath: root + "/\(name).tar"))
                try run("gzip", [root + "/\(name).tar"])
                if accepted {
                    #expect(try ArchiveValidator.inspect(file: root + "/\(name).tar.gz").hasDockerfile)
                } else {
                    rejects(
                        root + "/\(name).tar.gz", limits: .unlimited, as: .malformedArchive,
                        mentioning: "follow the end-of-archive marker")
                }
            }
        }
    }

    @Test func aSecondGzipMemberIsRefused() async throws {
        try await withTemporaryDirectory { root in
            // dockerd's gzip reader reads on into a next member, where a bomb could hide.
            try Data(Self.dockerfile + Self.endMarker).write(to: URL(fileURLWithPath: root + "/a.tar"))
            try Data([UInt8](repeating: 0, count: 1 << 20)).write(to: URL(fileURLWithPath: root + "/zeros"))
            try run("gzip", [root + "/a.tar", root + "/zeros"])
            let first = try Data(contentsOf: URL(fileURLWithPath: root + "/a.tar.gz"))
            let second = try Data(contentsOf: URL(fileURLWithPath: root + "/zeros.gz"))
            try (first + second).write(to: URL(fileURLWithPath: root + "/two.tar.gz"))
            #expect(try ArchiveValidator.inspect(file: root + "/a.tar.gz").hasDockerfile)
            rejects(root + "/two.tar.gz", as: .malformedArchive, mentioning: "a second gzip member")
        }
    }

    // MARK: Names as dockerd's Go reader (archive/tar) makes them

    /// Expects each archive, after a Dockerfile, refused with `kind`: it names an entry that
    /// climbs out of the root, as Go reads it.
    private static func expectRefused(
        _ cases: [(label: String, archive: [UInt8])], as kind: ArchiveError.Kind = .unsafeEntryPath,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (label, archive) in cases {
            do {
                _ = try validate(dockerfile + archive + endMarker)
                Issue.record("\(label): accepted, though dockerd reads another name", sourceLocation: sourceLocation)
            } catch {
                #expect((error as? ArchiveError)?.kind == kind, "\(label): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Expects each archive, after a Dockerfile, accepted with its one symlink read as `name`.
    private static func expectAccepted(
        _ cases: [(label: String, archive: [UInt8], name: String)], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for (label, archive, name) in cases {
            #expect(
                (try? validate(dockerfile + archive + endMarker))?.notes
                    == ["symlink \(name) points outside the context to \(outside)"],
                "\(label)", sourceLocation: sourceLocation)
        }
    }

    private static let outside = "../../../../out"
    private static let global = pax([("comment", "made by git archive")], type: "g")

    @Test func aGlobalHeaderEndsTheExtensionsBeforeIt() throws {
        // Go returns a `g` header as an entry of its own (which Docker skips): what came before
        // it described it, and the entry after it is read afresh.
        Self.expectRefused([
            ("PAX path", Self.pax([("path", "ok")]) + Self.global + Self.header("../../x")),
            (
                "GNU long name",
                Self.entry("././@LongLink", type: "L", data: Array("ok\0".utf8)) + Self.global
                    + Self.header("../../x")
            ),
            (
                "GNU long link",
                Self.entry("././@LongLink", type: "K", data: Array("ok\0".utf8)) + Self.global
                    + Self.header("link", type: "1", linkName: "../../etc/shadow")
            ),
            (
                "PAX linkpath",
                Self.pax([("linkpath", "ok")]) + Self.global
                    + Self.header("link", type: "1", linkName: "../../etc/shadow")
            ),
        ])
        Self.expectAccepted([
            ("g first", Self.global + Self.header("s", type: "2", linkName: Self.outside), "s"),
            (
                "x after g",
                Self.global + Self.pax([("path", "p")]) + Self.header("s", type: "2", linkName: Self.outside),
                "p"
            ),
        ])
    }

    @Test func anEmptyExtensionValueKeepsTheHeadersOwn() throws {
        // Go skips an empty PAX value (the last record of a key wins) and an empty GNU long name or link.
        let shadow = Self.header("link", type: "1", linkName: "../../etc/shadow")
        Self.expectRefused([
            ("PAX path", Self.pax([("path", "")]) + Self.header("../../x")),
            ("PAX path emptied", Self.pax([("path", "ok"), ("path", "")]) + Self.header("../../x")),
            ("GNU long name", Self.entry("././@LongLink", type: "L", data: [0]) + Self.header("../../x")),
            (
                "GNU long name after PAX",
                Self.pax([("path", "../../x")]) + Self.entry("././@LongLink", type: "L", data: [])
                    + Self.header("ok")
            ),
            ("PAX linkpath", Self.pax([("linkpath", "")]) + shadow),
            ("GNU long link", Self.entry("././@LongLink", type: "K", data: [0]) + shadow),
        ])
        Self.expectAccepted([
            (
                "PAX path emptied",
                Self.pax([("path", "../../x"), ("path", "")])
                    + Self.header("s", type: "2", linkName: Self.outside), "s"
            ),
            (
                "bytes after the NUL of a GNU long name",
                Self.entry("././@LongLink", type: "L", data: Array("ok\0/../../x".utf8))
                    + Self.header("s", type: "2", linkName: Self.outside), "ok"
            ),
        ])
        let summary = try Self.validate(
            Self.dockerfile + Self.pax([("size", "")]) + Self.entry("five", data: Array("12345".utf8)) + Self.endMarker)
        #expect(summary.contentBytes == 13 + 5)
    }

    @Test func theNamePrefixIsTheOneOfTheHeadersFormat() throws {
        let gnu = "ustar  \0"
        Self.expectRefused([
            // `ustar\0` magic is POSIX ustar for Go whatever the version: its 155-byte prefix counts.
            ("ustar, version NULs", Self.header("x", magic: "ustar\0\0\0", fields: [345: "../.."])),
            ("ustar, version spaces", Self.header("x", magic: "ustar\0  ", fields: [345: "../.."])),
            // star (`tar\0` trailer): the prefix is 131 bytes, the access time after it is no part of the name.
            (
                "star",
                Self.header(
                    "../../x", fields: [345: String(repeating: "a", count: 130) + "/", 476: "1", 508: "tar\0"])
            ),
        ])
        // GNU has no prefix, but Go reads one where the access and change times are when they are
        // not numbers (archives a Go writer before 1.8 mangled): refused.
        Self.expectRefused(
            [
                ("GNU, access time not a number", Self.header("x", magic: gnu, fields: [345: "../.."])),
                ("GNU, change time not a number", Self.header("x", magic: gnu, fields: [357: "../.."])),
            ], as: .malformedArchive)
        let longName = String(repeating: "n", count: 100)
        Self.expectAccepted([
            (
                "ustar, no NUL after a 100-byte name",
                Self.header(
                    longName, type: "2", linkName: Self.outside,
                    magic: "ustar\0  ", fields: [345: "d"]), "d/" + longName
            ),
            (
                "star",
                Self.header(
                    "s", type: "2", linkName: Self.outside,
                    fields: [345: "d", 476: "1", 508: "tar\0"]), "d/s"
            ),
            (
                "GNU with times",
                Self.header(
                    "s", type: "2", linkName: Self.outside, magic: gnu,
                    fields: [345: "14000000000", 357: "14000000000 "]), "s"
            ),
            (
                "GNU, garbage after a NUL",
                Self.header(
                    "s", type: "2", linkName: Self.outside, magic: gnu,
                    fields: [346: "../..", 358: "../.."]), "s"
            ),
            (
                "GNU magic, other version: V7",
                Self.header(
                    "s", type: "2", linkName: Self.outside,
                    magic: "ustar \0\0", fields: [345: "../.."]), "s"
            ),
            ("V7", Self.header("s", type: "2", linkName: Self.outside, magic: "", fields: [345: "../.."]), "s"),
        ])
    }

    @Test func acceptsGitArchives() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/repo/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/repo/src/main.c", Data("int main(void) { return 0; }\n".utf8))
            let git = ["-C", root + "/repo", "-c", "user.name=t", "-c", "user.email=t@example.com"]
            try run("git", git + ["init", "-q"])
            try run("git", git + ["add", "."])
            try run("git", git + ["commit", "-q", "-m", "first"])
            for format in ["tar", "tar.gz"] {
                let archive = root + "/repo." + format
                try run("git", git + ["archive", "--format=" + format, "-o", archive, "HEAD"])
                if format == "tar" {
                    // A PAX global header with the commit in a comment record comes first.
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
                    #expect(bytes[156] == UInt8(ascii: "g"))
                    #expect(String(decoding: bytes[512..<1024], as: UTF8.self).contains(" comment="))
                }
                let summary = try ArchiveValidator.inspect(file: archive)
                #expect(summary.entryCount == 3 && summary.hasDockerfile && summary.contentBytes == 13 + 29)
            }
        }
    }
}
