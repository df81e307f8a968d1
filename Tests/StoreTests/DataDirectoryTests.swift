import Foundation
import Store
import Testing

@Suite("data folder")
struct DataDirectoryTests {
    @Test("the data folder and its sub-folders are made private, also when they existed with a wider mode")
    func privateFolders() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("data-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        // As systemd's StateDirectory= leaves it by default.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root)
        let directory = DataDirectory(root)
        try directory.create()
        for path in [directory.root, directory.uploadsPath, directory.logsPath] {
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o700, "\(path): \(String(mode ?? 0, radix: 8))")
        }
    }

    @Test("a private file is written whole with mode 0600, replacing the one before; a failed write leaves that one")
    func durablePrivateFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/admin.token"
        try DataDirectory.writeDurably("first\n", toPrivateFile: path)
        try DataDirectory.writeDurably("second\n", toPrivateFile: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["admin.token"])
        // A folder in the way of the new file: the write fails, the old file stays whole.
        try FileManager.default.createDirectory(atPath: path + ".new", withIntermediateDirectories: false)
        #expect(throws: (any Error).self) { try DataDirectory.writeDurably("third\n", toPrivateFile: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second\n")
    }

    @Test("the database and its WAL files are mode 0600, also when they existed with a wider mode")
    func privateDatabase() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("db-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/mini.sqlite"
        func modes() throws -> [String: Int] {
            try [path, path + "-wal", path + "-shm"].reduce(into: [:]) { modes, file in
                modes[file] = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            }
        }
        let database = try MiniDatabase(path: path)
        try await database.write { db in try db.execute(sql: "SELECT 1") }
        let made = try modes()
        #expect(made.values.allSatisfy { $0 == 0o600 }, "\(made)")
        // Made by an earlier version with SQLite's default mode: the next process to open the
        // database (this one keeps it open, so the WAL files stay) restricts them.
        for file in [path, path + "-wal", path + "-shm"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        }
        try withExtendedLifetime(database) { _ = try MiniDatabase(path: path) }
        let restricted = try modes()
        #expect(restricted.values.allSatisfy { $0 == 0o600 }, "\(restricted)")
    }

    @Test("a folder with an earlier start's admin.token but no database, or an empty one, is refused; a new one is not")
    func databaseOrNewFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kept-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = DataDirectory(root)
        try directory.create()
        try directory.requireDatabaseOrNewFolder()
        try DataDirectory.writeDurably("token\n", toPrivateFile: directory.adminTokenPath)
        #expect(throws: DataDirectory.Failure.self) { try directory.requireDatabaseOrNewFolder() }
        _ = FileManager.default.createFile(atPath: directory.databasePath, contents: Data())
        #expect(throws: DataDirectory.Failure.self) { try directory.requireDatabaseOrNewFolder() }
        _ = try MiniDatabase(path: directory.databasePath)
        try directory.requireDatabaseOrNewFolder()
    }

    @Test("a damaged database is named as such at the integrity check; a whole one passes")
    func integrityCheck() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/mini.sqlite"
        try MiniDatabase(path: path).checkIntegrity()
        // Pages of the tables overwritten, as a failing disk or a partial copy leaves them.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: 8192)
        try handle.write(contentsOf: Data((0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))
        try handle.close()
        let failure = try #require(throws: DataDirectory.Failure.self) {
            try MiniDatabase(path: path).checkIntegrity()
        }
        #expect(failure.description.contains("is damaged"), "\(failure)")
    }

    @Test("a data folder that cannot be made says where, why and what to do")
    func unusableFolder() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("file-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let failure = try #require(throws: DataDirectory.Failure.self) { try DataDirectory(file + "/data").create() }
        #expect(failure.description.hasPrefix("cannot make \(file)/data: "), "\(failure)")
        #expect(failure.description.contains("--data-dir"), "\(failure)")
    }
}
