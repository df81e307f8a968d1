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
        let backup = source.root + "/backup.sqlite"
        defer {
            try? FileManager.default.removeItem(atPath: source.root)
            try? FileManager.default.removeItem(atPath: target.root)
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
}
