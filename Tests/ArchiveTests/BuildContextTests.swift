import Foundation
import Testing

@testable import Archive

#if canImport(Glibc)
    import Glibc
#endif

@Suite("BuildContext")
struct BuildContextTests {
    @Test func walkAppliesDockerignoreLikeDocker() async throws {
        try await withTemporaryDirectory { root in
            for path in [
                "Dockerfile", "main.swift", "notes.txt", "docs/a.txt", "docs/README.md",
                "node_modules/x/index.js",
                "build/out.o", "build/keep/me.txt", "e/f", "src/z.swift", "src/a.swift",
            ] {
                try makeFile(root + "/" + path, Data(path.utf8))
            }
            try makeFile(
                root + "/.dockerignore",
                Data(
                    "# ignore\n*.txt\nnode_modules\ndocs\n!docs/README.md\nbuild\n!*/keep\ne/f/..\nDockerfile\n"
                        .utf8)
            )
            let context = try BuildContext(scanning: root + "/")
            #expect(
                context.entries.map(\.path) == [
                    ".dockerignore", "Dockerfile", "docs/README.md", "main.swift", "src", "src/a.swift",
                    "src/z.swift",
                ]
            )
            #expect(context.directory == root)
            #expect(context.hasDockerfile)
            #expect(context.contentBytes == context.entries.reduce(0) { $0 + $1.size })
        }
    }

    @Test func symlinksAreKeptNotFollowed() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/real/file.txt", Data("x".utf8))
            try FileManager.default.createSymbolicLink(
                atPath: root + "/to-real", withDestinationPath: "real")
            try FileManager.default.createSymbolicLink(
                atPath: root + "/to-etc", withDestinationPath: "/etc")
            let context = try BuildContext(scanning: root)
            #expect(context.entries.map(\.path) == ["real", "real/file.txt", "to-etc", "to-real"])
            #expect(context.entries.last?.kind == .symlink(target: "real"))
            #expect(!context.hasDockerfile)
        }
    }

    @Test func aLinkToTheFolderIsFollowed() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/releases/7/Dockerfile", Data("FROM scratch\n".utf8))
            try FileManager.default.createSymbolicLink(atPath: root + "/current", withDestinationPath: "releases/7")
            for path in [root + "/current", root + "/current/"] {
                let context = try BuildContext(scanning: path)
                #expect(context.hasDockerfile)
                #expect(context.entries.map(\.path) == ["Dockerfile"])
            }
        }
    }

    @Test func socketsAreSkippedWithANote() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(descriptor) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = root + "/app.sock"
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            try #require(bound == 0)
            let context = try BuildContext(scanning: root)
            #expect(context.entries.map(\.path) == ["Dockerfile"])
            #expect(context.notes == ["skipped app.sock: a socket cannot be sent in a build context"])
        }
    }

    @Test func aNameThatIsNotUTF8IsRefusedClearlyUnlessExcluded() async throws {
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            // "data-\xff.bin": a Latin-1 name, as old archives bring them.
            let name =
                Array((root + "/data-").utf8).map { CChar(bitPattern: $0) } + [CChar(bitPattern: 0xff)]
                + Array(".bin".utf8).map { CChar(bitPattern: $0) } + [0]
            let descriptor = open(name, O_CREAT | O_WRONLY, 0o644)
            try #require(descriptor >= 0)
            close(descriptor)
            #expect {
                try BuildContext(scanning: root)
            } throws: { error in
                guard let error = error as? ArchiveError else { return false }
                return error.kind == .unsupportedEntry && error.message.contains("data-\u{FFFD}.bin")
                    && error.message.contains("not UTF-8")
            }
            try makeFile(root + "/.dockerignore", Data("*.bin\n".utf8))
            let context = try BuildContext(scanning: root)
            #expect(context.entries.map(\.path).sorted() == [".dockerignore", "Dockerfile"])

            // A link whose target is not UTF-8 could not be sent as it is either.
            let target: [CChar] = [CChar(bitPattern: 0x6f), CChar(bitPattern: 0xff), 0]
            #expect(symlink(target, root + "/link") == 0)
            #expect {
                try BuildContext(scanning: root)
            } throws: { error in
                (error as? ArchiveError)?.kind == .unsupportedEntry && "\(error)".contains("link")
            }
        }
    }

    @Test func missingFolderAndUnreadableFilesGiveClearErrors() async throws {
        #expect {
            try BuildContext(scanning: "/nonexistent/mini-\(UUID())")
        } throws: { ($0 as? ArchiveError)?.kind == .unreadable }
        try await withTemporaryDirectory { root in
            try makeFile(root + "/Dockerfile", Data("FROM scratch\n".utf8))
            try makeFile(root + "/locked.txt", Data("x".utf8), mode: 0)
            guard geteuid() != 0 else {
                print("skipping the permission check: root reads every file")
                return
            }
            #expect {
                try BuildContext(scanning: root)
            } throws: { error in
                (error as? ArchiveError)?.message.contains("locked.txt") == true
            }
        }
    }
}
