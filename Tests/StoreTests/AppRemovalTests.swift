import Foundation
import MiniCore
import Store
import Testing

@Suite("app removals")
struct AppRemovalTests {
    @Test("a destroy leaves a note, forgotten by its own time only, also when the app is made again")
    func notes() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("removal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let apps = AppStore(database: try MiniDatabase(path: folder.appendingPathComponent("mini.sqlite").path))
        let web = try AppName("web")
        #expect(try await apps.createApp(web))
        #expect(try await !apps.createApp(web), "a second create changes nothing")
        let first = try await apps.deleteApp(web)
        #expect(try await apps.pendingRemovals(olderThan: .zero).map(\.app) == [web])
        #expect(try await apps.pendingRemovals(olderThan: .seconds(60)).isEmpty, "too recent for the reconciler")

        // Made again and destroyed again before the first note was forgotten: the note stays
        // (the reconciler removes the first app's leftovers around the new one's releases).
        #expect(try await apps.createApp(web))
        #expect(try await apps.pendingRemovals(olderThan: .zero).map(\.requestedAt) == [first.requestedAt])
        let second = try await apps.deleteApp(web)
        try await apps.forgetRemoval(of: web, requestedAt: first.requestedAt)
        #expect(try await apps.pendingRemovals(olderThan: .zero).map(\.requestedAt) == [second.requestedAt])
        try await apps.forgetRemoval(of: web, requestedAt: second.requestedAt)
        #expect(try await apps.pendingRemovals(olderThan: .zero).isEmpty)
    }
}
