import Foundation
import GRDB
import MiniCore
import Store
import Testing

/// `DataDirectory.restore` on real SQLite files.
@Suite("restore")
struct RestoreTests {
    private func temporaryFolder() -> DataDirectory {
        DataDirectory(FileManager.default.temporaryDirectory.appendingPathComponent("restore-\(UUID())").path)
    }

    @Test("a WAL left without its database is moved aside, not replayed into the restored one")
    func leftoverWAL() async throws {
        let source = temporaryFolder()
        let target = temporaryFolder()
        let backup = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID()).sqlite").path
        defer {
            try? FileManager.default.removeItem(atPath: source.root)
            try? FileManager.default.removeItem(atPath: target.root)
            try? FileManager.default.removeItem(atPath: backup)
        }
        try source.create()
        try target.create()
        _ = try await AppStore(database: try source.openDatabase()).createApp(AppName("kept"))
        _ = try source.backup(to: backup, replacing: false)

        // The target's database committed a change that is still only in its WAL; then the
        // database file alone was removed (as a damaged one might be).
        let savedWAL = target.root + "/saved-wal"
        do {
            let database = try MiniDatabase(path: target.databasePath)
            _ = try await AppStore(database: database).createApp(AppName("stale"))
            try FileManager.default.copyItem(atPath: target.databasePath + "-wal", toPath: savedWAL)
            try database.pool.close()
        }
        try FileManager.default.removeItem(atPath: target.databasePath)
        try? FileManager.default.removeItem(atPath: target.databasePath + "-wal")
        try FileManager.default.moveItem(atPath: savedWAL, toPath: target.databasePath + "-wal")

        let restored = try target.restore(from: backup, acceptingOtherInstallation: true)
        #expect(restored.previous == nil)
        #expect(restored.summary.apps == 1)
        let apps = try await AppStore(database: try MiniDatabase(path: target.databasePath)).apps().map(\.name)
        #expect(apps == ["kept"])
    }

    @Test("a backup goes only to a new or regular file outside the data folder")
    func destinationsAndRepeatedRestores() async throws {
        let source = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: source.root) }
        try source.create()
        _ = try await AppStore(database: try source.openDatabase()).createApp(AppName("kept"))
        func refusal(_ destination: String) -> String {
            do {
                _ = try source.backup(to: destination, replacing: true)
                return "written"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("/dev/null").contains("is not a regular file"))
        var status = stat()
        #expect(stat("/dev/null", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR, "/dev/null is still a device")
        #expect(refusal(source.root).contains("is not a regular file"))
        #expect(refusal(source.databasePath).contains("is inside the data folder"))
        #expect(refusal(source.logsPath + "/backup.sqlite").contains("is inside the data folder"))
        let backup = FileManager.default.temporaryDirectory.appendingPathComponent("backup-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: backup) }
        #expect(refusal(backup) == "written")
        try FileManager.default.createSymbolicLink(atPath: backup + ".link", withDestinationPath: backup)
        defer { try? FileManager.default.removeItem(atPath: backup + ".link") }
        #expect(refusal(backup + ".link").contains("is not a regular file"))

    }
}
