import Foundation
import GRDB
import MiniCore
import Store
import Testing

@Suite("app environment")
struct EnvironmentTests {
    @Test("a restored environment keeps the keys set and unset since the rollback read it")
    func restoreKeepsLaterChanges() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("env-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try MiniDatabase(path: folder.appendingPathComponent("mini.sqlite").path)
        let app = try AppName("shop")
        let snapshot = ["A": "1", "B": "2", "D": "4"]
        let restored = try await database.write { db in
            try AppStore.ensureApp(app, in: db)
            try AppStore.replaceEnvironment(of: app, with: snapshot, in: db)
            // While the rollback runs: A unset, B changed, E added; D untouched.
            try AppStore.replaceEnvironment(of: app, with: ["B": "5", "D": "4", "E": "6"], in: db)
            return try AppStore.restoreEnvironment(
                of: app, to: ["A": "0", "C": "3", "D": "old"], keepingChangesSince: snapshot, in: db)
        }
        let expected = ["B": "5", "C": "3", "D": "old", "E": "6"]
        #expect(restored == expected)
        #expect(try await database.read { db in try AppStore.environment(of: app, in: db) } == expected)
    }
}
